// The bundled catalogue, routed as `run` would route it, without a network (issue 15): documented
// API URLs of each provider (catalogue-examples.json, each row with the page it comes from) reach
// that provider, with the header, scheme and fixed headers its documentation gives; every bundled
// provider has such a row; and no URL a bundled provider claims is claimed by another one as well,
// except by another way to log in to the same API (`variant_of`), which shares its main provider's.
// The rows run in-process through Authsome.route(), the decision `authsome route` prints; a few
// also run through the real CLI, which must print the same explanation.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Authsome, type RouteExplanation } from '../../src/index.ts';
import { BUNDLED_DIR } from '../../src/providers/index.ts';
import { runCli } from '../support/cli.ts';
import { seedConnection } from '../support/make-due.ts';
import { cleanupHomes, freshHome, REPO_ROOT } from '../support/homes.ts';

/**
 * A documented request and how its provider's documentation says it is authenticated. `header` and
 * `scheme` (null: the bare value) for a header; `query_param` for a key in the query; `basic_template`
 * for HTTP Basic; `header_templates` for a credential of several parts sent in headers of their own;
 * `extra` for the fixed headers the route adds; `cli` to run the row through the CLI too.
 * `connection`: the row is routed in a home where this provider alone is connected, with these
 * values (the parts of a several-part key, or what a token response kept, such as Salesforce's
 * instance_url) — for a route known only after a login, and for a variant (`variant_of`), which
 * carries the request only when it is the one connected.
 * `source` is the provider's page (or official SDK file) that shows the request.
 */
interface Example {
  url: string;
  provider: string;
  header: string | null;
  scheme: string | null;
  query_param?: string;
  basic_template?: string;
  header_templates?: Record<string, string>;
  extra?: Record<string, string>;
  connection?: Record<string, string>;
  source: string;
  /** Why the row is not (yet) traced to the provider's own documentation: its source is a page that was not read, or read only in part. */
  unverified?: string;
  cli?: boolean;
}

const EXAMPLES = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'providers', 'catalogue-examples.json'), 'utf8')) as Example[];


const bundled = readdirSync(BUNDLED_DIR).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(BUNDLED_DIR, f), 'utf8')) as {
  name: string; auth_type: string; variant_of?: string | null; host_url?: string | null; routes?: Array<{ url: string }>;
});
const definitionOf = (name: string) => bundled.find((d) => d.name === name)!;

after(cleanupHomes);
const home = freshHome();
let authsome: Authsome;
before(() => { authsome = new Authsome({ home, env: {} }); });
after(() => authsome.close());

/** The row routed in a fresh home where its provider alone is connected, with the row's connection values. */
async function routeConnectedAlone(example: Example): Promise<RouteExplanation> {
  const home = freshHome();
  if (definitionOf(example.provider).auth_type !== 'api_key') {
    await seedConnection(home, {
      provider: example.provider, access_token: 'catalogue-access-token-0123456789', expires_at: '2099-01-01T00:00:00Z', obtained_at: '2026-01-01T00:00:00Z', ...example.connection,
    });
  }
  const connected = new Authsome({ home, env: {} });
  try {
    if (definitionOf(example.provider).auth_type === 'api_key') await connected.loginWithApiKey(example.provider, example.connection!);
    return await connected.route(example.url);
  } finally {
    await connected.close();
  }
}

describe('documented API URLs route to their provider, authenticated as documented', () => {
  for (const example of EXAMPLES) {
    it(`${example.url} → ${example.provider}`, async () => {
      let e = await authsome.route(example.url);
      const main = definitionOf(example.provider).variant_of;
      if (main) {
        // With nothing connected, the main provider is named, and the variant beside it (not a tie).
        assert.equal(e.decision, 'not_connected', `${example.url}: ${e.why}`);
        assert.equal(e.provider, main, `${example.url}: ${e.why}`);
        assert.ok(e.candidates.some((c) => c.provider === example.provider && c.outcome === 'not_connected'), `${example.provider} is a candidate: ${e.why}`);
      }
      if (example.connection) {
        e = await routeConnectedAlone(example);
        assert.equal(e.decision, 'inject', `${example.url}: ${e.why} (source: ${example.source})`);
      } else {
        assert.equal(e.decision, 'not_connected', `${example.url}: ${e.decision}: ${e.why} (source: ${example.source})`); // the one provider that claims it, in a home with no connections
      }
      assert.equal(e.provider, example.provider, `${example.url}: ${e.decision}: ${e.why} (source: ${example.source})`);
      const injection = e.injection!;
      if (example.query_param) {
        assert.equal(injection.location, 'query');
        assert.equal(injection.query_param, example.query_param);
      } else if (example.header_templates) {
        assert.equal(injection.location, 'headers');
        assert.deepEqual(injection.header_templates, example.header_templates);
      } else {
        assert.equal(injection.header?.toLowerCase(), example.header?.toLowerCase());
        assert.equal(injection.scheme, example.scheme);
        assert.equal(injection.basic_template, example.basic_template ?? null);
      }
      assert.deepEqual(injection.extra_headers, example.extra ?? {});
    });
  }
});

describe('the catalogue table itself', () => {
  it('names every bundled provider (a new definition cannot land unchecked) and nothing else', () => {
    const names = new Set(bundled.map((d) => d.name));
    const covered = new Set(EXAMPLES.map((e) => e.provider));
    const missing = [...names].filter((name) => !covered.has(name));
    assert.deepEqual(missing, [], 'bundled providers without a documented URL in catalogue-examples.json');
    assert.deepEqual(EXAMPLES.filter((e) => !names.has(e.provider)).map((e) => e.provider), []);
    assert.equal(names.size, 85);
  });

  it('a variant names a bundled main provider that is no variant itself, and its rows are routed with it connected', () => {
    for (const variant of bundled.filter((d) => d.variant_of)) {
      const main = bundled.find((d) => d.name === variant.variant_of);
      assert.ok(main, `${variant.name}: variant_of ${variant.variant_of} is no bundled provider`);
      assert.equal(main.variant_of ?? null, null, `${variant.name}: ${main.name} is itself a variant`);
      assert.ok(EXAMPLES.filter((e) => e.provider === variant.name).every((e) => e.connection), `${variant.name}: a variant carries a request only when connected`);
    }
  });

  it('gives each row an https source and a whole https URL', () => {
    for (const example of EXAMPLES) {
      assert.match(example.source, /^https:\/\/[^\s]+$/, `${example.url}: source`);
      assert.equal(new URL(example.url).protocol, 'https:', example.url);
    }
  });
});

describe('the CLI prints the decision the library makes', () => {
  for (const example of EXAMPLES.filter((e) => e.cli)) {
    it(`authsome route ${example.url} --json`, async () => {
      const result = await runCli(['route', example.url, '--json'], { home });
      assert.equal(result.code, 5, result.stderr); // a matching provider with no connection: credential_missing
      assert.deepEqual(JSON.parse(result.stdout), JSON.parse(JSON.stringify(await authsome.route(example.url))));
    });
  }
});

describe('no two bundled providers claim one URL', () => {
  it('each literal route a bundled provider has reaches that provider alone, or a variant\'s its main provider', async () => {
    // A variant (variant_of) is another way to log in to its main provider's API: it may claim the
    // main provider's URLs, and only those; with neither connected the main one is named, and the
    // explanation lists the variant beside it. Any other sharing is a tie (`ambiguous`) and fails.
    const claimed: string[] = [];
    for (const definition of bundled) {
      const urls = (definition.routes?.map((r) => r.url) ?? (definition.host_url ? [definition.host_url] : []))
        .filter((url) => !url.includes('{') && !url.includes('*') && !url.startsWith('regex:'))
        .map((url) => (url.includes('://') ? url : `https://${url}`));
      for (const url of urls) {
        const e = await authsome.route(`${url.replace(/\/$/, '')}/authsome-catalogue-check`);
        // A tie with any provider outside the variant's family is `ambiguous`, not `not_connected`.
        const expected = e.provider === definition.name || (definition.variant_of != null && e.provider === definition.variant_of);
        if (e.decision !== 'not_connected' || !expected) claimed.push(`${url}: ${definition.name} expected, got ${e.decision} ${e.provider ?? ''}`);
      }
    }
    assert.deepEqual(claimed, []);
  });
});

describe('a wildcard route names only a domain its provider alone serves', () => {
  // A status page on twilio.com is Atlassian's Statuspage: Twilio's SID and Auth Token must not go
  // there, so Twilio routes its product hosts (twilio-node's src/rest/*Base.ts) and its regions,
  // not every name under twilio.com.
  it('hosts a provider does not serve itself are not routed', async () => {
    for (const url of ['https://status.twilio.com/api/v2/status.json', 'https://www.twilio.com/en-us']) {
      const e = await authsome.route(url);
      assert.equal(e.provider, null, `${url} reaches ${e.provider}`);
    }
  });
});
