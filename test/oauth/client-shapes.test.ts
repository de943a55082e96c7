// What real providers need of an OAuth login, through the built CLI: a public client of a provider
// that pins a confidential method (X, Airtable) enters no secret; Reddit's installed apps send
// Basic with an empty password; Slack and Linear take comma-separated scopes; a provider without
// PKCE gets none, one that requires it is never logged in without S256; and Postiz's bare token.
// The form-encoded provider below behaves like them and records what it was sent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { launchChromium } from '../support/chromium.ts';
import { runCli, runCliJson, startCli } from '../support/cli.ts';
import { REPO_ROOT } from '../support/homes.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { headerValues, proxyHome } from '../proxy/harness.ts';

interface Seen { path: string; query: URLSearchParams; authorization: string | null; body: URLSearchParams }

/** A form-encoded provider: auto-approves, answers tokens, and refuses what the test tells it to. */
async function startShapeProvider() {
  const seen: Seen[] = [];
  let refuse: (request: Seen) => string | null = () => null;
  let metadata: Record<string, unknown> | null = null;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const request: Seen = { path: url.pathname, query: url.searchParams, authorization: req.headers.authorization ?? null, body: new URLSearchParams(text) };
      seen.push(request);
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (url.pathname === '/.well-known/oauth-authorization-server' && metadata) return json(200, metadata);
      if (url.pathname === '/authorize') {
        const back = new URL(url.searchParams.get('redirect_uri')!);
        const problem = refuse(request);
        if (problem) back.searchParams.set('error', problem);
        else back.searchParams.set('code', `code-${randomBytes(8).toString('hex')}`);
        back.searchParams.set('state', url.searchParams.get('state')!);
        return res.writeHead(302, { location: back.href }).end();
      }
      if (url.pathname === '/token') {
        const problem = refuse(request);
        if (problem) return json(problem === 'invalid_client' ? 401 : 400, { error: problem });
        return json(200, { access_token: `pos_${randomBytes(12).toString('hex')}`, token_type: 'Bearer', expires_in: 3600 });
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    seen,
    refuseWhen(rule: (request: Seen) => string | null) { refuse = rule; },
    serveMetadata(value: Record<string, unknown> | null) { metadata = value; },
    last: (path: string) => [...seen].reverse().find((s) => s.path === path) ?? null,
    definition(name: string, oauth: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) {
      return {
        schema_version: 1, name, auth_type: 'oauth2', flow: 'pkce', host_url: 'api.example.test',
        oauth: { authorization_url: `${origin}/authorize`, token_url: `${origin}/token`, scopes: ['identity', 'read'], ...oauth },
        client: { client_id_env: 'SHAPE_CLIENT_ID', client_secret_env: 'SHAPE_CLIENT_SECRET' },
        ...rest,
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let p: Awaited<ReturnType<typeof startShapeProvider>>;
let h: OAuthHome;
before(async () => {
  p = await startShapeProvider();
  h = await oauthHome({ SHAPE_CLIENT_ID: 'installed-app-id' });
});
after(async () => {
  await h?.cleanup();
  await p?.close();
});

describe('client authentication at the token endpoint', { timeout: 60_000 }, () => {
  it('Reddit installed app (bundled definition, no secret): Basic client_id with an empty password, which the provider requires', async () => {
    // The bundled reddit definition's client authentication, pointed at the local provider.
    const reddit = JSON.parse(readFileSync(join(REPO_ROOT, 'src', 'providers', 'bundled', 'reddit.json'), 'utf8')) as { oauth: Record<string, unknown> };
    const { token_endpoint_auth_method, public_client_auth, pkce } = reddit.oauth;
    assert.equal(public_client_auth, 'basic_empty_secret');
    await h.register(p.definition('redditish', { token_endpoint_auth_method, public_client_auth, pkce }));
    // Reddit answers 401 to a token request without Basic (prawcore sends auth=(client_id, "")).
    p.refuseWhen((r) => (r.path === '/token' && !r.authorization ? 'invalid_client' : null));
    const result = await runCli(['login', 'redditish'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    const token = p.last('/token')!;
    assert.equal(token.authorization, `Basic ${Buffer.from('installed-app-id:').toString('base64')}`);
    assert.equal(token.body.get('client_secret'), null);
  });

  it('a confidential Reddit app still sends its secret in Basic', async () => {
    p.refuseWhen(() => null);
    const result = await runCli(['login', 'redditish', '--force'], { env: { ...h.env, SHAPE_CLIENT_SECRET: 'web-app-secret-123456' } });
    assert.equal(result.code, 0, result.stderr);
    // RFC 6749 §2.3.1: each part form-encoded, then base64 (oauth4webapi encodes "-" too).
    const basic = Buffer.from(p.last('/token')!.authorization!.replace(/^Basic /, ''), 'base64').toString();
    assert.deepEqual(basic.split(':').map(decodeURIComponent), ['installed-app-id', 'web-app-secret-123456']);
  });

  it('X / Airtable public client (pinned client_secret_basic, no secret): client_id in the body, no Authorization', async () => {
    await h.register(p.definition('xish', { token_endpoint_auth_method: 'client_secret_basic', pkce: true }));
    // Airtable: "Authorization is required if your integration has a client secret — omit it otherwise".
    p.refuseWhen((r) => (r.path === '/token' && (r.authorization || r.body.get('client_id') !== 'installed-app-id') ? 'invalid_client' : null));
    const result = await runCli(['login', 'xish'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    p.refuseWhen(() => null);
  });
});

describe('scopes and PKCE', { timeout: 60_000 }, () => {
  it('joins scopes with a comma where the provider says so (Slack, Linear), and reads them back', async () => {
    await h.register(p.definition('slackish', { scope_separator: ',', scopes: ['channels:read', 'chat:write'], pkce: false }));
    // Slack reads "channels:read chat:write" as one unknown scope.
    p.refuseWhen((r) => (r.path === '/authorize' && r.query.get('scope') !== 'channels:read,chat:write' ? 'invalid_scope' : null));
    const result = await runCli(['login', 'slackish'], { env: h.env });
    p.refuseWhen(() => null);
    assert.equal(result.code, 0, result.stderr);
    const { json } = await runCliJson<{ scopes: string[] }>(['get', 'slackish'], { env: h.env });
    assert.deepEqual(json.scopes, ['channels:read', 'chat:write']);
  });

  it('sends no code_challenge and no code_verifier to a provider that does not support PKCE', async () => {
    await h.register(p.definition('nopkce', { pkce_support: 'unsupported', pkce: false }));
    p.refuseWhen((r) => (r.query.has('code_challenge') || r.body.has('code_verifier') ? 'invalid_request' : null));
    const result = await runCli(['login', 'nopkce'], { env: h.env });
    p.refuseWhen(() => null);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(p.last('/authorize')!.query.get('code_challenge'), null);
    assert.equal(p.last('/token')!.body.get('code_verifier'), null);
  });

  it('refuses, before any browser opens, a server whose metadata offers no S256 when the provider requires PKCE', async () => {
    p.serveMetadata({ issuer: p.origin, authorization_endpoint: `${p.origin}/authorize`, token_endpoint: `${p.origin}/token`, code_challenge_methods_supported: ['plain'] });
    try {
      await h.register(p.definition('mustpkce', { issuer: p.origin, authorization_url: null, token_url: null, pkce_support: 'required' }));
      const before = p.seen.filter((s) => s.path === '/authorize').length;
      const result = await runCli(['login', 'mustpkce'], { env: h.env });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /mustpkce requires PKCE, but its authorization server does not offer S256 \(code_challenge_methods_supported: plain\)/);
      assert.equal(p.seen.filter((s) => s.path === '/authorize').length, before, 'the authorization endpoint was never visited');
      // The same server, where PKCE is optional, still gets S256 (a challenge it may ignore).
      await h.register(p.definition('mustpkce', { issuer: p.origin, authorization_url: null, token_url: null }));
      const optional = await runCli(['login', 'mustpkce'], { env: h.env });
      assert.equal(optional.code, 0, optional.stderr);
      assert.equal(p.last('/authorize')!.query.get('code_challenge_method'), 'S256');
    } finally {
      p.serveMetadata(null);
    }
  });
});

describe('the scheme of an OAuth token', { timeout: 60_000 }, () => {
  let upstream: HttpsUpstream;
  before(async () => (upstream = await startHttpsUpstream()));
  after(() => upstream?.close());

  it('Postiz: oauth.header_prefix "" injects the bare token under run', async () => {
    await h.register(p.definition('postizish', { header_prefix: '' }));
    assert.equal((await runCli(['login', 'postizish'], { env: h.env })).code, 0);
    const token = (await runCli(['get', 'postizish', '--field', 'access_token', '--show-secret'], { env: h.env })).stdout.trim();
    const ph = await proxyHome(upstream, h);
    const result = await ph.run(['curl', '-sS', '--max-time', '20', 'https://api.example.test/echo/postiz'], { only: 'postizish' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(upstream.received('/echo/postiz').map((r) => headerValues(r.rawHeaders, 'authorization')), [[token]]);
  });
});

describe('a public client typed into the local form', { timeout: 120_000 }, () => {
  let as: AuthServer;
  let home: OAuthHome;
  let browser: Browser;
  before(async () => {
    [as, browser] = await Promise.all([startAuthServer(), launchChromium()]);
    home = await oauthHome();
    // X and Airtable pin client_secret_basic for confidential clients and accept public ones
    // (public_client_auth); a provider that pins a method and names no public client (Google) does not.
    await home.register(testProvider(as, { oauth: { token_endpoint_auth_method: 'client_secret_basic', public_client_auth: 'none' } }));
    await home.register(testProvider(as, { name: 'confidential', oauth: { token_endpoint_auth_method: 'client_secret_basic' } }));
  });
  after(async () => {
    await browser?.close();
    await home?.cleanup();
    await as?.close();
  });

  it('is not asked for a secret, and logs in with client_id alone', async () => {
    const cli = startCli(['login', 'testas'], { env: { ...home.env, TESTAS_CLIENT_ID: undefined } });
    const [, url] = await cli.waitForStderr(/local form \(it never leaves this computer\):\n\n {2}(http:\/\/127\.0\.0\.1:\d+\/input\/[\w-]+)\n/);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url!);
      assert.equal(await page.getByLabel('Client secret').evaluate((input: { required: boolean }) => input.required), false, 'the secret is optional');
      await page.getByLabel('Client ID').fill('authsome-public');
      await Promise.all([page.waitForEvent('framenavigated'), page.getByRole('button', { name: 'Save' }).click()]);
    } finally {
      await context.close();
    }
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Connected testas \(default\)/);
  });

  it('a provider that takes confidential clients only asks for the secret before the browser goes to consent', async () => {
    const cli = startCli(['login', 'confidential'], { env: { ...home.env, TESTAS_CLIENT_ID: undefined } });
    const [, url] = await cli.waitForStderr(/local form \(it never leaves this computer\):\n\n {2}(http:\/\/127\.0\.0\.1:\d+\/input\/[\w-]+)\n/);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url!);
      assert.equal(await page.getByLabel('Client secret').evaluate((input: { required: boolean }) => input.required), true, 'the secret is required');
    } finally {
      await context.close();
      cli.kill();
      await cli.done;
    }
  });
});
