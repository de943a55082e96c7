// The bundled catalogue, routed as `run` would route it, without a network (issue 15): documented
// API URLs of each provider reach that provider, with the header and scheme its documentation
// gives, and no URL a bundled provider claims is claimed by another one as well.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { cleanupHomes, freshHome, REPO_ROOT } from '../support/homes.ts';

after(cleanupHomes);

interface Explained {
  decision: string;
  provider: string | null;
  injection: { header: string | null; scheme: string | null; location: string; query_param: string | null; extra_headers: Record<string, string> } | null;
}

const home = freshHome();
async function route(url: string): Promise<Explained> {
  const result = await runCli(['route', url, '--json'], { home });
  assert.ok([0, 3, 5].includes(result.code), `route ${url}: exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Explained;
}

/** A documented request, and how its provider's documentation says it is authenticated (scheme null: the bare value). */
interface Example { url: string; provider: string; header: string; scheme: string | null; extra?: Record<string, string>; source: string }

const EXAMPLES: Example[] = [
  { url: 'https://gmail.googleapis.com/gmail/v1/users/me/messages', provider: 'google', header: 'Authorization', scheme: 'Bearer', source: 'https://developers.google.com/gmail/api/reference/rest' },
  { url: 'https://sheets.googleapis.com/v4/spreadsheets/abc', provider: 'google', header: 'Authorization', scheme: 'Bearer', source: 'https://developers.google.com/sheets/reference/rest/' },
  { url: 'https://people.googleapis.com/v1/people/me', provider: 'google', header: 'Authorization', scheme: 'Bearer', source: 'https://developers.google.com/people/api/rest' },
  { url: 'https://www.googleapis.com/drive/v3/files', provider: 'google', header: 'Authorization', scheme: 'Bearer', source: 'https://developers.google.com/drive/api/reference/rest/v3' },
  { url: 'https://generativelanguage.googleapis.com/v1beta/models', provider: 'gemini', header: 'x-goog-api-key', scheme: null, source: 'https://ai.google.dev/gemini-api/docs/api-key' },
  { url: 'https://api.dropboxapi.com/2/files/list_folder', provider: 'dropbox', header: 'Authorization', scheme: 'Bearer', source: 'https://www.dropbox.com/developers/documentation/http/documentation' },
  { url: 'https://content.dropboxapi.com/2/files/upload', provider: 'dropbox', header: 'Authorization', scheme: 'Bearer', source: 'https://www.dropbox.com/developers/documentation/http/documentation' },
  { url: 'https://router.huggingface.co/v1/chat/completions', provider: 'huggingface', header: 'Authorization', scheme: 'Bearer', source: 'https://huggingface.co/docs/inference-providers/index' },
  { url: 'https://huggingface.co/api/whoami-v2', provider: 'huggingface', header: 'Authorization', scheme: 'Bearer', source: 'https://huggingface.co/docs/hub/api' },
  { url: 'https://r.jina.ai/https://example.com', provider: 'jina', header: 'Authorization', scheme: 'Bearer', source: 'https://github.com/jina-ai/reader' },
  { url: 'https://s.jina.ai/?q=authsome', provider: 'jina', header: 'Authorization', scheme: 'Bearer', source: 'https://github.com/jina-ai/reader' },
  { url: 'https://api.jina.ai/v1/embeddings', provider: 'jina', header: 'Authorization', scheme: 'Bearer', source: 'https://jina.ai/embeddings/' },
  { url: 'https://api.pinecone.io/indexes', provider: 'pinecone', header: 'Api-Key', scheme: null, source: 'https://docs.pinecone.io/guides/get-started/authentication' },
  { url: 'https://docs-example-abc123.svc.us-east1-gcp.pinecone.io/vectors/upsert', provider: 'pinecone', header: 'Api-Key', scheme: null, source: 'https://docs.pinecone.io/guides/get-started/authentication' },
  { url: 'https://us6.api.mailchimp.com/3.0/ping', provider: 'mailchimp', header: 'Authorization', scheme: 'Basic', source: 'https://mailchimp.com/developer/marketing/docs/fundamentals/' },
  { url: 'https://api.livestorm.co/v1/events', provider: 'livestorm', header: 'Authorization', scheme: null, source: 'https://developers.livestorm.co/docs/api-token-authentication' },
  { url: 'https://api.assemblyai.com/v2/transcript', provider: 'assemblyai', header: 'Authorization', scheme: null, source: 'https://www.assemblyai.com/docs/api-reference/overview' },
  { url: 'https://api.eu.assemblyai.com/v2/transcript', provider: 'assemblyai', header: 'Authorization', scheme: null, source: 'https://www.assemblyai.com/docs/pre-recorded-audio/select-the-region' },
  { url: 'https://api.box.com/2.0/users/me', provider: 'box', header: 'Authorization', scheme: 'Bearer', source: 'https://developer.box.com/reference/' },
  { url: 'https://upload.box.com/api/2.0/files/content', provider: 'box', header: 'Authorization', scheme: 'Bearer', source: 'https://developer.box.com/guides/uploads/' },
  { url: 'https://api.eu.intercom.io/contacts', provider: 'intercom', header: 'Authorization', scheme: 'Bearer', source: 'https://developers.intercom.com/building-apps/docs/rest-apis' },
  { url: 'https://api.eu.deepgram.com/v1/listen', provider: 'deepgram', header: 'Authorization', scheme: 'Token', source: 'https://developers.deepgram.com/reference/regional-endpoints' },
  { url: 'https://de.sentry.io/api/0/organizations/', provider: 'sentry', header: 'Authorization', scheme: 'Bearer', source: 'https://docs.sentry.io/api/' },
  { url: 'https://api.postiz.com/public/v1/posts', provider: 'postiz', header: 'Authorization', scheme: null, source: 'https://docs.postiz.com/cli/authentication' },
  { url: 'https://api.anthropic.com/v1/messages', provider: 'anthropic', header: 'x-api-key', scheme: null, extra: { 'anthropic-version': '2023-06-01' }, source: 'https://docs.anthropic.com/en/api/versioning' },
];

describe('documented API URLs route to their provider, authenticated as documented', () => {
  for (const example of EXAMPLES) {
    it(`${example.url} → ${example.provider}`, async () => {
      const e = await route(example.url);
      assert.equal(e.provider, example.provider, `${example.url}: ${e.decision} (source: ${example.source})`);
      assert.equal(e.decision, 'not_connected'); // the one provider that claims it, in a home with no connections
      assert.equal(e.injection?.header?.toLowerCase(), example.header.toLowerCase());
      assert.equal(e.injection?.scheme ?? null, example.scheme);
      assert.deepEqual(e.injection?.extra_headers ?? {}, example.extra ?? {});
    });
  }
});

describe('no two bundled providers claim one URL', () => {
  it('each literal host a bundled provider routes reaches that provider alone', async () => {
    const dir = join(REPO_ROOT, 'src', 'providers', 'bundled');
    // Open (issue 15): klaviyo and klaviyo-oauth both claim a.klaviyo.com; which one is meant depends on the connection.
    const known = new Set(['klaviyo', 'klaviyo-oauth']);
    const claimed: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const definition = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { name: string; host_url?: string | null; routes?: Array<{ url: string }> };
      if (known.has(definition.name)) continue;
      const urls = (definition.routes?.map((r) => r.url) ?? (definition.host_url ? [definition.host_url] : []))
        .filter((url) => !url.includes('{') && !url.includes('*') && !url.startsWith('regex:'))
        .map((url) => (url.includes('://') ? url : `https://${url}`));
      for (const url of urls) {
        const e = await route(`${url.replace(/\/$/, '')}/authsome-catalogue-check`);
        if (e.provider !== definition.name) claimed.push(`${url}: ${definition.name} expected, got ${e.decision} ${e.provider ?? ''}`);
      }
    }
    assert.deepEqual(claimed, []);
  });
});
