// Issue 15, bundled providers as their own documentation describes them, through the built CLI:
// Microsoft's tenant chosen by the user and kept by the connection (the real oidc-provider behind
// Microsoft's URL layout), Salesforce's token answers without expires_in and its login host from
// --base-url (behind Salesforce's layout), the headers a provider requires on authsome's own OAuth
// calls (Reddit's User-Agent, Notion's Notion-Version) at a local provider, and — without a
// network, through `authsome route` — Notion's and Klaviyo's API-version headers on their routes,
// and the two ways to log in to one API (klaviyo / klaviyo-oauth, cloudflare /
// cloudflare-global-key), of which the connected one carries the request.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { REPO_ROOT, cleanupHomes, freshHome } from '../support/homes.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { seedConnection } from '../support/make-due.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

after(cleanupHomes);

const bundled = (name: string) => JSON.parse(readFileSync(join(REPO_ROOT, 'src', 'providers', 'bundled', `${name}.json`), 'utf8')) as Record<string, any>;

/** The token and authorization requests the server saw, by path as sent. */
async function pathsSeen(as: AuthServer): Promise<string[]> {
  return (await as.requests()).filter((r) => /oauth2|services/.test(r.path)).map((r) => `${r.method} ${r.path}`);
}

describe('microsoft: the tenant is chosen at login and kept by the connection', { timeout: 120_000 }, () => {
  let as: AuthServer;
  let h: OAuthHome;
  before(async () => {
    as = await startAuthServer();
    h = await oauthHome({ MICROSOFT_CLIENT_ID: 'authsome-public', AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
    // The bundled definition with Microsoft's origins replaced by the local server's: paths, {tenant},
    // its default and the refresh-token lifetime are the bundled file's own.
    const text = JSON.stringify(bundled('microsoft'))
      .replaceAll('https://login.microsoftonline.com', as.issuer)
      .replaceAll('https://graph.microsoft.com/oidc/userinfo', `${as.issuer}/me`);
    await h.register(JSON.parse(text) as Record<string, unknown>);
  });
  after(async () => {
    await h?.cleanup();
    await as?.close();
  });

  it('without --tenant a login goes to /common, the definition\'s default', async () => {
    await as.resetCounts();
    const result = await runCli(['login', 'microsoft'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await pathsSeen(as), ['GET /common/oauth2/v2.0/authorize', 'POST /common/oauth2/v2.0/token']);
    assert.equal((await runCli(['get', 'microsoft', '--field', 'tenant'], { env: h.env })).stdout.trim(), 'common');
  });

  it('--tenant sends the login to a single-tenant app\'s directory; refresh and login --force stay there', async () => {
    await as.resetCounts();
    const login = await runCli(['login', 'microsoft', '--force', '--tenant', 'contoso.onmicrosoft.com'], { env: h.env });
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual(await pathsSeen(as), ['GET /contoso.onmicrosoft.com/oauth2/v2.0/authorize', 'POST /contoso.onmicrosoft.com/oauth2/v2.0/token']);
    assert.equal((await runCli(['get', 'microsoft', '--field', 'tenant'], { env: h.env })).stdout.trim(), 'contoso.onmicrosoft.com');

    await as.resetCounts();
    const refresh = await runCli(['refresh', 'microsoft'], { env: h.env });
    assert.equal(refresh.code, 0, refresh.stderr);
    assert.deepEqual(await pathsSeen(as), ['POST /contoso.onmicrosoft.com/oauth2/v2.0/token'], 'the refresh goes where the grant was issued');

    await as.resetCounts();
    const again = await runCli(['login', 'microsoft', '--force'], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await pathsSeen(as), ['GET /contoso.onmicrosoft.com/oauth2/v2.0/authorize', 'POST /contoso.onmicrosoft.com/oauth2/v2.0/token']);
  });

  it('MICROSOFT_TENANT_ID chooses it for a new connection, and the stored client remembers it for the next', async () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    await as.resetCounts();
    const work = await runCli(['login', 'microsoft', '--connection', 'work'], { env: { ...h.env, MICROSOFT_TENANT_ID: tenant } });
    assert.equal(work.code, 0, work.stderr);
    assert.deepEqual(await pathsSeen(as), [`GET /${tenant}/oauth2/v2.0/authorize`, `POST /${tenant}/oauth2/v2.0/token`]);
    await as.resetCounts();
    const third = await runCli(['login', 'microsoft', '--connection', 'third'], { env: h.env });
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(await pathsSeen(as), [`GET /${tenant}/oauth2/v2.0/authorize`, `POST /${tenant}/oauth2/v2.0/token`], 'the app registration\'s directory, kept with the client');
  });

  it('the refresh token\'s end is Microsoft\'s documented 90 days', async () => {
    const end = Date.parse((await runCli(['get', 'microsoft', '--field', 'refresh_expires_at'], { env: h.env })).stdout.trim());
    const days = (end - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90, `refresh_expires_at is ${days} days away`);
  });

  it('a --tenant that is no tenant is refused before anything is sent, and so is --tenant for a provider without {tenant}', async () => {
    await as.resetCounts();
    for (const bad of ['../evil', 'contoso.com/oauth2?x=', 'a b']) {
      const result = await runCli(['login', 'microsoft', '--force', '--tenant', bad], { env: h.env });
      assert.equal(result.code, 2, `${bad}: ${result.stderr}`);
      assert.match(result.stderr, /--tenant is not a tenant: use "common", "organizations", "consumers", a tenant ID or a domain name/);
    }
    const github = await runCli(['login', 'github', '--tenant', 'contoso.com'], { env: h.env });
    assert.equal(github.code, 2, github.stderr);
    assert.match(github.stderr, /github has no \{tenant\} in its OAuth URLs, so --tenant does not apply/);
    assert.deepEqual(await pathsSeen(as), []);
    assert.equal((await runCli(['get', 'microsoft', '--field', 'tenant'], { env: h.env })).stdout.trim(), 'contoso.onmicrosoft.com', 'nothing was replaced');
  });
});

describe('salesforce: a token answer without expires_in, and the login host from --base-url', { timeout: 120_000 }, () => {
  let as: AuthServer;
  let h: OAuthHome;
  before(async () => {
    // Salesforce's answer: no expires_in, the org's API host in instance_url.
    as = await startAuthServer({ omitTokenFields: ['expires_in'], addTokenFields: { instance_url: 'https://acme.my.salesforce.com' } });
    h = await oauthHome({ SALESFORCE_CLIENT_ID: 'authsome-public', AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
  });
  after(async () => {
    await h?.cleanup();
    await as?.close();
  });

  it('the bundled definition logs in at the --base-url host (a sandbox or My Domain) and assumes Salesforce\'s two-hour session', async () => {
    const started = Date.now();
    const result = await runCli(['login', 'salesforce', '--base-url', as.issuer], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await pathsSeen(as), ['GET /services/oauth2/authorize', 'POST /services/oauth2/token', 'GET /services/oauth2/userinfo']);
    const expiresAt = Date.parse((await runCli(['get', 'salesforce', '--field', 'expires_at'], { env: h.env })).stdout.trim());
    assert.ok(expiresAt - started >= 7_190_000 && expiresAt - started <= 7_200_000 + (Date.now() - started), `expires_at is ${(expiresAt - started) / 1000} s after the login began`);
    const { json } = await runCliJson<{ decision: string; provider: string }>(['route', 'https://acme.my.salesforce.com/services/data/v62.0/sobjects', '--json'], { env: h.env });
    assert.equal(json.decision, 'inject');
    assert.equal(json.provider, 'salesforce');
  });
});

describe('oauth.headers: fixed headers on every request authsome sends the provider', { timeout: 120_000 }, () => {
  let provider: JsonProvider;
  let h: OAuthHome;
  before(async () => {
    provider = await startJsonProvider();
    h = await oauthHome({ ...provider.clientEnv, AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
  });
  after(async () => {
    await h?.cleanup();
    await provider?.close();
  });

  it('the bundled reddit User-Agent and notion Notion-Version reach the token, userinfo, refresh and revocation requests', async () => {
    const userAgent = bundled('reddit').oauth.headers['User-Agent'] as string;
    const notionVersion = bundled('notion').oauth.headers['Notion-Version'] as string;
    assert.match(userAgent, /^\S+:\S+:v\S+ \(/, 'Reddit\'s <platform>:<app ID>:<version> (…) form');
    await h.register(provider.definition({ oauth: { headers: { 'User-Agent': userAgent, 'Notion-Version': notionVersion } } }));
    assert.equal((await runCli(['login', 'jsonprov', '--force'], { env: h.env })).code, 0);
    assert.equal((await runCli(['refresh', 'jsonprov'], { env: h.env })).code, 0);
    assert.equal((await runCli(['logout', 'jsonprov'], { env: h.env })).code, 0);
    const seen = provider.requests().filter((r) => r.endpoint !== 'authorize');
    assert.deepEqual(seen.map((r) => r.endpoint), ['token', 'me', 'refresh', 'revoke']);
    for (const request of seen) {
      assert.equal(request.headers['user-agent'], userAgent, `${request.endpoint} carries the definition's User-Agent, not the library's`);
      assert.equal(request.headers['notion-version'], notionVersion, `${request.endpoint} carries Notion-Version`);
    }
  });

  it('on a revocation, oauth.revocation.headers win over oauth.headers of the same name', async () => {
    await h.register(provider.definition({ oauth: { headers: { 'Notion-Version': '2022-06-28' }, revocation: { style: 'json', headers: { 'Notion-Version': '2025-09-03' } } } }));
    assert.equal((await runCli(['login', 'jsonprov', '--force'], { env: h.env })).code, 0);
    provider.clearRequests();
    assert.equal((await runCli(['logout', 'jsonprov'], { env: h.env })).code, 0);
    assert.equal(provider.lastRequest('revoke')!.headers['notion-version'], '2025-09-03');
  });

  it('a definition may not set a credential or framing header there', async () => {
    const file = join(h.home, 'bad-headers.json');
    (await import('node:fs')).writeFileSync(file, JSON.stringify(provider.definition({ name: 'badheaders', oauth: { headers: { Authorization: 'Basic x' } } })));
    const result = await runCli(['register', file], { env: h.env });
    assert.equal(result.code, 3, result.stderr); // provider_invalid
    assert.match(result.stderr, /oauth\.headers\.Authorization/);
  });
});

describe('routes of the bundled providers, and two ways to log in to one API', { timeout: 120_000 }, () => {
  const home = freshHome();
  const route = async (url: string, extra: string[] = []) => {
    const result = await runCli(['route', url, '--json', ...extra], { home });
    return { code: result.code, e: JSON.parse(result.stdout) as Record<string, any> };
  };

  it('Notion\'s API requests carry Notion-Version, which every REST request needs', async () => {
    const { code, e } = await route('https://api.notion.com/v1/users/me');
    assert.equal(code, 5);
    assert.equal(e.provider, 'notion');
    assert.deepEqual(e.injection.extra_headers, { 'Notion-Version': '2025-09-03' });
  });

  it('with nothing connected, a.klaviyo.com names klaviyo (klaviyo-oauth is its variant), with the revision header Klaviyo requires', async () => {
    const { code, e } = await route('https://a.klaviyo.com/api/profiles/');
    assert.equal(code, 5);
    assert.equal(e.decision, 'not_connected');
    assert.equal(e.provider, 'klaviyo');
    assert.equal(e.injection.scheme, 'Klaviyo-API-Key');
    assert.deepEqual(e.injection.extra_headers, { revision: '2026-10-15' });
    assert.match(e.why, /klaviyo-oauth claims it too, as another way to log in to klaviyo: whichever is connected carries the request/);
    assert.equal((await route('https://a.klaviyo.com/client/subscriptions/')).e.decision, 'no_route', 'the client APIs take no private key');
  });

  it('the connected one carries the request: klaviyo-oauth\'s Bearer token; both connected is ambiguous until --only chooses', async () => {
    await seedConnection(home, { provider: 'klaviyo-oauth', access_token: 'klaviyo-oauth-access-123456', expires_at: '2099-01-01T00:00:00Z', obtained_at: '2026-01-01T00:00:00Z' });
    let { code, e } = await route('https://a.klaviyo.com/api/profiles/');
    assert.equal(code, 0);
    assert.equal(e.provider, 'klaviyo-oauth');
    assert.equal(e.injection.scheme, 'Bearer');
    assert.deepEqual(e.injection.extra_headers, { revision: '2026-10-15' });
    const stored = await runCli(['login', 'klaviyo', '--api-key-stdin'], { home, input: 'pk_test_key_1234567890\n' });
    assert.equal(stored.code, 0, stored.stderr);
    ({ code, e } = await route('https://a.klaviyo.com/api/profiles/'));
    assert.equal(code, 3);
    assert.equal(e.decision, 'ambiguous');
    ({ code, e } = await route('https://a.klaviyo.com/api/profiles/', ['--only', 'klaviyo']));
    assert.equal(code, 0);
    assert.equal(e.provider, 'klaviyo');
    assert.equal(e.injection.scheme, 'Klaviyo-API-Key');
  });

  it('cloudflare-global-key sends X-Auth-Email and X-Auth-Key, the Global API Key\'s headers; the API token stays Bearer', async () => {
    let { e } = await route('https://api.cloudflare.com/client/v4/zones');
    assert.equal(e.provider, 'cloudflare');
    assert.equal(e.injection.scheme, 'Bearer');
    const login = await runCli(['login', 'cloudflare-global-key', '--api-key-stdin'], { home, input: 'email=ops@example.com\nglobal_key=0123456789abcdef0123456789abcdef01234\n' });
    assert.equal(login.code, 0, login.stderr);
    let code: number;
    ({ code, e } = await route('https://api.cloudflare.com/client/v4/zones'));
    assert.equal(code, 0);
    assert.equal(e.provider, 'cloudflare-global-key');
    assert.equal(e.injection.location, 'headers');
    assert.deepEqual(e.injection.header_templates, { 'X-Auth-Email': '{email}', 'X-Auth-Key': '{global_key}' });
    const exported = await runCli(['export', 'cloudflare-global-key'], { home });
    assert.match(exported.stdout, /^CLOUDFLARE_EMAIL=ops@example\.com$/m);
    assert.match(exported.stdout, /^CLOUDFLARE_API_KEY=0123456789abcdef0123456789abcdef01234$/m);
  });
});
