// Issue 15: routes that say what real APIs need, checked through `authsome route <url>` — the
// proxy's own decision, without a network — and one `authsome run -- curl` proving a wildcard route
// and a fixed header reach a real HTTPS upstream through a CA that permits the wildcard's domain.
// Several hosts per provider, wildcard subdomains against exact hosts (Google against Gemini),
// path prefixes, ports, {base_url} (self-managed GitLab) and {instance_url} from a real token
// response (Salesforce's per-org host), fixed headers (anthropic-version, Notion-Version).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliResult } from '../support/cli.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';
import { ACME_KEY, BETA_KEY, acme, assertNoSecretIn, lastJson, proxyHome, type ProxyHome } from './harness.ts';

const WILD_KEY = 'wild-secret-key-777777';

/** `authsome route --json <url>`: the explanation and the exit code. */
async function route(env: Record<string, string>, url: string, extra: string[] = []): Promise<{ code: number; e: Record<string, any>; result: CliResult }> {
  const result = await runCli(['route', '--json', ...extra, url], { env });
  let e: Record<string, any>;
  try {
    e = JSON.parse(result.stdout) as Record<string, any>;
  } catch {
    throw new Error(`route ${url} printed no JSON (exit ${result.code})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return { code: result.code, e, result };
}

let upstream: HttpsUpstream;
let h: ProxyHome;

before(async () => {
  upstream = await startHttpsUpstream();
  h = await proxyHome(upstream);
  // Exact hosts on two origins, one with a path prefix, one on another port, and a fixed header.
  await h.register({
    ...acme, routes: [
      { url: 'api.example.test', headers: { 'anthropic-version': '2023-06-01' } },
      { url: 'https://git.example.test/v2' },
      { url: 'https://third.example.test:8443' },
    ],
  });
  // Every name below example.test, with a header of its own.
  await h.register({
    schema_version: 1, name: 'wild', auth_type: 'api_key', flow: 'api_key',
    routes: [{ url: 'https://*.example.test', headers: { 'Notion-Version': '2025-09-03' } }],
    api_key: { header_name: 'X-Wild-Key', env_var: 'WILD_KEY' },
  });
  await h.login('acme', ACME_KEY);
  await h.login('wild', WILD_KEY);
});
after(async () => {
  await h?.cleanup();
  await upstream?.close();
});

describe('authsome route: which route a URL takes, and why the others do not', () => {
  it('several hosts per provider, an exact host beating a wildcard, and the header with its value masked', async () => {
    const { code, e, result } = await route(h.env, 'https://api.example.test/v1/messages');
    assert.equal(code, 0, result.stderr);
    assert.equal(e.decision, 'inject');
    assert.equal(e.provider, 'acme');
    assert.equal(e.connection, 'default');
    assert.equal(e.rule, 'https://api.example.test');
    assert.deepEqual(
      { location: e.injection.location, header: e.injection.header, scheme: e.injection.scheme, value: e.injection.value, extra: e.injection.extra_headers },
      { location: 'header', header: 'X-Api-Key', scheme: null, value: 'acme-****', extra: { 'anthropic-version': '2023-06-01' } },
    );
    const wild = e.candidates.find((c: any) => c.provider === 'wild');
    assert.equal(wild.outcome, 'less_specific');
    assert.match(wild.why, /an exact host beats a wildcard host/);
    assertNoSecretIn(result.stdout + result.stderr, [ACME_KEY, WILD_KEY], 'route output');

    // Another host of the same provider (with a path prefix): acme there too; outside the prefix, the wildcard.
    const inPrefix = await route(h.env, 'https://git.example.test/v2/repos');
    assert.equal(inPrefix.e.provider, 'acme');
    const outside = await route(h.env, 'https://git.example.test/v20/repos');
    assert.equal(outside.e.provider, 'wild');
    assert.match(outside.e.candidates.find((c: any) => c.provider === 'acme').why, /outside its path prefix \/v2/);
  });

  it('a wildcard covers names below its domain only, never the domain itself or a look-alike', async () => {
    const below = await route(h.env, 'https://deep.other.example.test/x');
    assert.equal(below.code, 0);
    assert.equal(below.e.provider, 'wild');
    assert.deepEqual(below.e.injection.extra_headers, { 'Notion-Version': '2025-09-03' });
    for (const url of ['https://example.test/x', 'https://api.example.test.attacker.test/x', 'https://evilexample.test/x']) {
      const { code, e } = await route(h.env, url);
      assert.equal(e.decision, 'no_route', url);
      assert.equal(code, 3, url);
    }
  });

  it('a port is part of the route: 8443 routes, 443 of the same host goes to the wildcard, 9000 to no one', async () => {
    assert.equal((await route(h.env, 'https://third.example.test:8443/x')).e.provider, 'acme');
    const on443 = await route(h.env, 'https://third.example.test/x');
    assert.equal(on443.e.provider, 'wild');
    assert.match(on443.e.candidates.find((c: any) => c.provider === 'acme').why, /bound to port 8443, not 443/);
    const elsewhere = await route(h.env, 'https://api.example.test:9000/x');
    assert.equal(elsewhere.code, 3);
  });

  it('two routes as specific as each other inject nothing: exit 3, both named', async () => {
    const twin = await proxyHome(upstream);
    try {
      await twin.register(acme);
      await twin.register({ ...acme, name: 'acme-twin', api_key: { header_name: 'X-Twin-Key', env_var: 'ACME_TWIN_KEY' } });
      await twin.login('acme', ACME_KEY);
      await twin.login('acme-twin', BETA_KEY);
      const { code, e } = await route(twin.env, 'https://api.example.test/echo');
      assert.equal(code, 3);
      assert.equal(e.decision, 'ambiguous');
      assert.deepEqual(e.candidates.map((c: any) => [c.provider, c.outcome]).sort(), [['acme', 'tied'], ['acme-twin', 'tied']]);
      // The proxy makes the same decision: neither key goes out.
      const run = await twin.run(['curl', '-sS', 'https://api.example.test/echo/twins'], { verbose: true });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(Object.keys(lastJson(run).headers).filter((n) => /x-(api|twin)-key/.test(n)), []);
      assert.match(run.stderr, /ambiguous: .*acme \(default\).* and .*acme-twin \(default\).*nothing injected/);
    } finally {
      await twin.cleanup();
    }
  });

  it('a longer wildcard domain beats a shorter one, a longer path prefix a shorter one; the library decides the same', async () => {
    const ranked = await proxyHome(upstream);
    try {
      const keyed = (name: string, routes: Array<{ url: string }>) => ({
        schema_version: 1, name, auth_type: 'api_key', flow: 'api_key', routes, api_key: { header_name: `X-${name}-Key`, env_var: `${name.toUpperCase()}_KEY` },
      });
      await ranked.register(keyed('broad', [{ url: 'https://*.example.test' }]));
      await ranked.register(keyed('svc', [{ url: 'https://*.svc.example.test' }]));
      await ranked.register(keyed('host', [{ url: 'api.example.test' }]));
      await ranked.register(keyed('versioned', [{ url: 'https://api.example.test/v2' }]));
      for (const name of ['broad', 'svc', 'host', 'versioned']) await ranked.login(name, `${name}-secret-key-000000`);
      const expected: Array<[string, string]> = [
        ['https://idx-1.svc.example.test/query', 'svc'],
        ['https://other.example.test/x', 'broad'],
        ['https://api.example.test/v2/models', 'versioned'],
        ['https://api.example.test/v1/models', 'host'],
      ];
      for (const [url, provider] of expected) {
        const { code, e } = await route(ranked.env, url);
        assert.equal(code, 0, url);
        assert.equal(e.provider, provider, url);
      }
      const svc = await route(ranked.env, 'https://idx-1.svc.example.test/query');
      assert.match(svc.e.candidates.find((c: any) => c.provider === 'broad').why, /a longer wildcard domain wins/);
      const versioned = await route(ranked.env, 'https://api.example.test/v2/models');
      assert.match(versioned.e.candidates.find((c: any) => c.provider === 'host').why, /a longer path prefix wins/);
      // The library's route() is the same decision.
      const { Authsome } = await import('../../src/index.ts');
      const library = new Authsome({ home: ranked.home });
      try {
        for (const [url, provider] of expected) assert.equal((await library.route(url)).provider, provider, url);
      } finally {
        await library.close();
      }
    } finally {
      await ranked.cleanup();
    }
  });

  it('a provider with no connection is named, with the login that fixes it: exit 5; Gemini beats Google\'s *.googleapis.com', async () => {
    const gmail = await route(h.env, 'https://gmail.googleapis.com/gmail/v1/users/me/messages');
    assert.equal(gmail.code, 5);
    assert.equal(gmail.e.decision, 'not_connected');
    assert.equal(gmail.e.provider, 'google');
    assert.equal(gmail.e.rule, 'https://*.googleapis.com');
    assert.match(gmail.e.why, /authsome login google/);
    for (const host of ['sheets', 'docs', 'people', 'www']) assert.equal((await route(h.env, `https://${host}.googleapis.com/v1/x`)).e.provider, 'google', host);
    const gemini = await route(h.env, 'https://generativelanguage.googleapis.com/v1beta/models');
    assert.equal(gemini.e.provider, 'gemini');
    assert.equal(gemini.e.injection.header, 'x-goog-api-key');
    assert.match(gemini.e.candidates.find((c: any) => c.provider === 'google').why, /an exact host beats a wildcard host/);
    // Google's own token endpoint is under the wildcard, and never gets a credential.
    const token = await route(h.env, 'https://oauth2.googleapis.com/token');
    assert.equal(token.e.decision, 'own_endpoint');
    assert.equal(token.code, 3);
    // The human form says the same.
    const text = await runCli(['route', 'https://gmail.googleapis.com/gmail/v1/users/me'], { env: h.env });
    assert.equal(text.code, 5);
    assert.match(text.stdout, /gmail\.googleapis\.com\/gmail\/v1\/users\/me: google via https:\/\/\*\.googleapis\.com, but it has no connection/);
    assert.match(text.stdout, /header: Authorization: Bearer <credential>/);
  });

  it('a bad URL is a usage error (exit 2), and a route header that would carry a credential is refused at register', async () => {
    assert.equal((await runCli(['route', 'not a url'], { env: h.env })).code, 2);
    for (const headers of [{ Authorization: 'Bearer x' }, { 'X-Api-Key': 'fixed' }, { 'x-v': 'a\r\nInjected: 1' }]) {
      const file = `${h.home}/bad-route.json`;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, JSON.stringify({ ...acme, name: 'badroute', routes: [{ url: 'api.example.test', headers }] }));
      const result = await runCli(['register', file], { env: h.env });
      assert.equal(result.code, 3, `${JSON.stringify(headers)} was accepted`);
      assert.match(result.stderr, /routes\.0\.headers/);
    }
    for (const url of ['https://*.test', 'regex:.*', 'https://api.*.example.test', '{access_token}.example.test', 'https://x.example.test/{instance_url}']) {
      const file = `${h.home}/bad-url.json`;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, JSON.stringify({ ...acme, name: 'badurl', routes: [{ url }] }));
      const result = await runCli(['register', file], { env: h.env });
      assert.equal(result.code, 3, `${url} was accepted`);
      assert.match(result.stderr, /routes\.0\.url/, url);
    }
  });
});

describe('authsome run: a wildcard route and a fixed header reach the upstream', () => {
  it('the key and Notion-Version arrive on a name below the wildcard; a child\'s own version stays; the CA permits example.test', async () => {
    const result = await h.run(['sh', '-c', [
      'curl -sS https://other.example.test/echo/wild',
      'curl -sS -H "Notion-Version: 2022-06-28" https://other.example.test/echo/pinned',
      'curl -sS https://api.example.test/echo/exact',
    ].join(' && ')], { verbose: true });
    assert.equal(result.code, 0, result.stderr);
    const wild = upstream.received('/echo/wild')[0]!;
    assert.equal(wild.headers['x-wild-key'], WILD_KEY);
    assert.equal(wild.headers['notion-version'], '2025-09-03');
    assert.equal(upstream.received('/echo/pinned')[0]!.headers['notion-version'], '2022-06-28');
    // The exact host is acme's, with acme's header and none of wild's.
    const exact = upstream.received('/echo/exact')[0]!;
    assert.equal(exact.headers['x-api-key'], ACME_KEY);
    assert.equal(exact.headers['x-wild-key'], undefined);
    assert.equal(exact.headers['anthropic-version'], '2023-06-01');
    assert.equal(exact.headers['notion-version'], undefined);
    // curl verified the leaf for other.example.test against the run's name-constrained CA.
    assert.match(result.stderr, /the run's CA vouches only for [^\n]*\bexample\.test\b/);
    assert.match(result.stderr, /rule wild \(default\) → https:\/\/\*\.example\.test/);
    assertNoSecretIn(result.stdout + result.stderr, [ACME_KEY, WILD_KEY], 'run output');
  });
});

describe('{base_url} and {instance_url}: hosts known only from the connection', () => {
  let provider: JsonProvider;
  let o: OAuthHome;
  before(async () => {
    provider = await startJsonProvider({ tokenExtras: { instance_url: 'https://na1.example.test' } });
    o = await oauthHome(provider.clientEnv);
    await o.register(provider.definition({ routes: [{ url: '{instance_url}/services' }] }));
    await o.register(provider.definition({ name: 'selfhosted', routes: [{ url: '{base_url}' }], client: { client_id_env: 'JSONPROV_CLIENT_ID', client_secret_env: 'JSONPROV_CLIENT_SECRET' } }));
  });
  after(async () => {
    await o?.cleanup();
    await provider?.close();
  });

  it('the token response\'s instance_url is kept, routed, and follows a refresh', async () => {
    const login = await runCli(['login', 'jsonprov'], { env: o.env });
    assert.equal(login.code, 0, login.stderr);
    const kept = await runCli(['get', 'jsonprov', '--field', 'instance_url'], { env: o.env });
    assert.equal(kept.stdout.trim(), 'https://na1.example.test');
    const { code, e } = await route(o.env, 'https://na1.example.test/services/data/v60.0/query');
    assert.equal(code, 0);
    assert.equal(e.provider, 'jsonprov');
    assert.equal(e.rule, 'https://na1.example.test/services');
    assert.match(e.injection.value, /^adh_\*+$/);
    assert.equal((await route(o.env, 'https://na1.example.test/other')).code, 3);

    provider.setTokenExtras({ instance_url: 'https://na2.example.test/' });
    const refreshed = await runCli(['refresh', 'jsonprov'], { env: o.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.equal((await route(o.env, 'https://na2.example.test/services/data')).e.provider, 'jsonprov');
    assert.equal((await route(o.env, 'https://na1.example.test/services/data')).code, 3);
  });

  it('an instance_url that is not an https URL is not kept: the credential goes nowhere', async () => {
    for (const bad of ['http://na3.example.test', 'https://user@na3.example.test', 'https://na3.example.test?x=1', 'javascript:alert(1)', 42]) {
      provider.setTokenExtras({ instance_url: bad });
      const login = await runCli(['login', 'jsonprov', '--force'], { env: o.env });
      assert.equal(login.code, 0, login.stderr);
      const field = await runCli(['get', 'jsonprov', '--json'], { env: o.env });
      assert.equal(JSON.parse(field.stdout).instance_url, undefined, `${bad} was kept`);
      const { code, e } = await route(o.env, 'https://na3.example.test/services/data');
      assert.equal(code, 3, String(bad));
      assert.equal(e.decision, 'no_route');
    }
  });

  it('{base_url} follows the connection\'s --base-url (self-managed), not the provider\'s default host', async () => {
    const login = await runCli(['login', 'selfhosted', '--base-url', 'https://gitlab.example.test'], { env: o.env });
    assert.equal(login.code, 0, login.stderr);
    const { code, e } = await route(o.env, 'https://gitlab.example.test/api/v4/user');
    assert.equal(code, 0);
    assert.equal(e.provider, 'selfhosted');
    // The bundled gitlab does the same: its route is {base_url}, gitlab.com by default.
    const gitlab = await route(o.env, 'https://gitlab.com/api/v4/projects');
    assert.equal(gitlab.e.provider, 'gitlab');
    assert.equal(gitlab.e.rule, 'https://gitlab.com');
  });
});
