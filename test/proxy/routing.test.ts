// Which request gets which credential under `run`: --only and --connection choose the routes; the
// CONNECT authority, never the Host header, chooses the host; a header or query parameter the child
// sent is replaced, never doubled; two routes for one host, a provider's own OAuth endpoints, a path
// outside a route's prefix and plain http:// get nothing (--verbose says why for the first two); a
// host pattern matches the whole host, not a look-alike.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { seedConnection } from '../support/make-due.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { ACME_KEY, BETA_KEY, acme, assertNoSecretIn, beta, headerValues, lastJson, proxyHome, type ProxyHome } from './harness.ts';

const ACME_WORK_KEY = 'acme-work-key-abcdef987';
const QUERY_KEY = 'query-secret-key-24680';
const OWNER_TOKEN = 'owner-access-token-0123456789';
let upstream: HttpsUpstream;
let h: ProxyHome;

const curl = (...args: string[]) => ['curl', '-sS', '--max-time', '20', ...args];

before(async () => {
  upstream = await startHttpsUpstream();
  h = await proxyHome(upstream);
  await h.register(acme);
  await h.register(beta);
  await h.login('acme', ACME_KEY);
  await h.login('acme', ACME_WORK_KEY, 'work');
  await h.login('beta', BETA_KEY);
  // A key that travels as a query parameter, on git.example.test.
  await h.register({ schema_version: 1, name: 'qkey', auth_type: 'api_key', flow: 'api_key', host_url: 'git.example.test', api_key: { location: 'query', query_param: 'api_key', env_var: 'QKEY' } });
  await h.login('qkey', QUERY_KEY);
});
after(async () => {
  await h?.cleanup();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

describe('choosing routes', () => {
  it('--only acme: the other provider\'s host is a blind tunnel and its variable no placeholder', async () => {
    // The upstream's CA alone in --cacert: only a blind tunnel lets curl trust third.example.test.
    const result = await h.run(['sh', '-c', [
      'curl -sS --max-time 20 https://api.example.test/echo/only-acme',
      `curl -sS --max-time 20 --cacert ${JSON.stringify(upstream.caFile)} https://third.example.test/echo/only-beta`,
      'echo "ACME_KEY=$ACME_KEY BETA_KEY=${BETA_KEY-unset}"',
    ].join(' && ')], { only: 'acme' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(headerValues(upstream.received('/echo/only-acme')[0]!.rawHeaders, 'x-api-key'), [ACME_KEY]);
    const tunnelled = upstream.received('/echo/only-beta');
    assert.equal(tunnelled.length, 1);
    assert.equal(tunnelled[0]!.headers.authorization, undefined);
    assert.match(result.stdout, /ACME_KEY=authsome-proxy-managed BETA_KEY=unset/);
    const entry = await h.lastRun();
    assert.deepEqual(entry.routes, ['acme (default) → api.example.test']);
    assert.equal(entry.tunnels, 1);
  });

  it('without --only, both providers are routed', async () => {
    const result = await h.run(['sh', '-c', 'curl -sS https://api.example.test/echo/both-a && curl -sS https://third.example.test/echo/both-b']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(upstream.received('/echo/both-a')[0]!.headers['x-api-key'], ACME_KEY);
    assert.equal(upstream.received('/echo/both-b')[0]!.headers.authorization, `Bearer ${BETA_KEY}`);
  });

  it('--connection acme=work injects that connection\'s key', async () => {
    const result = await h.run(curl('https://api.example.test/echo/work'), { connections: ['acme=work'] });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(headerValues(upstream.received('/echo/work')[0]!.rawHeaders, 'x-api-key'), [ACME_WORK_KEY]);
    assert.ok((await h.lastRun()).routes.includes('acme (work) → api.example.test'));
  });

  it('--only with a provider that has no connection: an error before the child starts', async () => {
    const result = await h.run(['sh', '-c', 'echo child-ran'], { only: 'acme,nosuch' });
    assert.notEqual(result.code, 0);
    assert.doesNotMatch(result.stdout, /child-ran/);
    assert.match(result.stderr, /nosuch/);
  });

  it('--connection naming a connection that does not exist: an error, not a run without the credential', async () => {
    const result = await h.run(['sh', '-c', 'echo child-ran'], { connections: ['acme=nosuch'] });
    assert.notEqual(result.code, 0, `run went ahead without acme's route:\n${result.stdout}${result.stderr}`);
    assert.doesNotMatch(result.stdout, /child-ran/);
    assert.match(result.stderr, /acme.*nosuch|nosuch.*acme/);
  });
});

describe('what arrives', () => {
  it('a header the child sent is replaced by the injected one, never doubled', async () => {
    const result = await h.run(['sh', '-c', [
      "curl -sS -H 'X-Api-Key: fake-from-child' -H 'x-api-key: another-fake' https://api.example.test/echo/replace-key",
      "curl -sS -H 'Authorization: Bearer fake-from-child' https://third.example.test/echo/replace-auth",
    ].join(' && ')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(headerValues(upstream.received('/echo/replace-key')[0]!.rawHeaders, 'x-api-key'), [ACME_KEY]);
    assert.deepEqual(headerValues(upstream.received('/echo/replace-auth')[0]!.rawHeaders, 'authorization'), [`Bearer ${BETA_KEY}`]);
  });

  it('a query-parameter key replaces the child\'s own and stays out of the verbose log', async () => {
    const result = await h.run(curl('https://git.example.test/echo/query?api_key=fake-from-child&x=1'), { verbose: true });
    assert.equal(result.code, 0, result.stderr);
    const seen = upstream.received('/echo/query')[0]!;
    assert.deepEqual(seen.query, { api_key: QUERY_KEY, x: '1' });
    assert.match(result.stderr, /proxy: GET git\.example\.test\/echo\/query → 200/);
    assertNoSecretIn(result.stderr, [QUERY_KEY], 'the verbose log');
  });

  it('the CONNECT authority chooses the route, never the Host header the child writes', async () => {
    const result = await h.run(['sh', '-c', [
      "curl -sS -H 'Host: other.example.test' https://api.example.test/echo/host-a",
      "curl -sS -H 'Host: api.example.test' https://other.example.test/echo/host-b",
    ].join(' && ')]);
    assert.equal(result.code, 0, result.stderr);
    const a = upstream.received('/echo/host-a')[0]!;
    assert.equal(a.headers.host, 'api.example.test', 'the proxy names the host it connected to');
    assert.equal(a.headers['x-api-key'], ACME_KEY);
    const b = upstream.received('/echo/host-b')[0]!;
    assert.equal(b.headers.host, 'api.example.test', 'a blind tunnel: the child\'s own bytes');
    assert.equal(b.headers['x-api-key'], undefined);
  });

  it('a POST body and the child\'s other headers arrive unchanged', async () => {
    const body = JSON.stringify({ hello: 'world', n: 42 });
    const result = await h.run(curl('-X', 'POST', '-H', 'content-type: application/json', '-H', 'X-Trace: t-1', '--data', body, 'https://api.example.test/echo/post?a=1&b=two'));
    assert.equal(result.code, 0, result.stderr);
    const echo = lastJson(result);
    assert.equal(echo.body, body);
    assert.deepEqual(echo.query, { a: '1', b: 'two' });
    assert.equal(echo.headers['x-trace'], 't-1');
    assert.equal(echo.headers['content-type'], 'application/json');
    assert.equal(echo.headers['x-api-key'], 'authsome-proxy-managed', 'the echo of the key reaches the child as the placeholder');
    assert.equal(upstream.received('/echo/post')[0]!.headers['x-api-key'], ACME_KEY);
  });

  it('plain http:// to a routed host is forwarded without a credential', async () => {
    const result = await h.run(curl('http://api.example.test/echo/plain'));
    assert.equal(result.code, 0, result.stderr);
    const seen = upstream.received('/echo/plain');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.sni, null, 'it came in over plain HTTP');
    assert.equal(seen[0]!.headers['x-api-key'], undefined);
    assert.equal(seen[0]!.headers['proxy-authorization'], undefined, 'the proxy secret stays with the proxy');
  });

  it('an upstream 401 on an API-key route reaches the child as it was: no retry', async () => {
    upstream.reject.add(BETA_KEY);
    const result = await h.run(curl('-w', '\nstatus=%{http_code}\n', 'https://third.example.test/oauth/key'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /status=401/);
    assert.equal(upstream.received('/oauth/key').length, 1);
    assert.deepEqual((await h.lastRun()).hosts['third.example.test'].statuses, { 401: 1 });
  });
});

describe('requests that get nothing', () => {
  let ambiguous: ProxyHome;
  before(async () => {
    ambiguous = await proxyHome(upstream);
    await ambiguous.register(acme);
    await ambiguous.register({ ...acme, name: 'acme-twin', api_key: { header_name: 'X-Twin-Key', env_var: 'ACME_TWIN_KEY' } });
    await ambiguous.login('acme', ACME_KEY);
    await ambiguous.login('acme-twin', 'twin-secret-key-5555');
    // An OAuth provider whose API and token endpoint share a host.
    await ambiguous.register({
      schema_version: 1, name: 'owner', auth_type: 'oauth2', flow: 'pkce', host_url: 'auth.example.test',
      oauth: { authorization_url: 'https://auth.example.test/oauth/authorize', token_url: 'https://auth.example.test/oauth/token', revocation_url: 'https://auth.example.test/oauth/revoke' },
      client: { client_id_env: 'OWNER_CLIENT_ID' },
    });
    await seedConnection(ambiguous.home, {
      provider: 'owner', access_token: OWNER_TOKEN, refresh_token: 'owner-refresh-token-0123456789',
      expires_at: new Date(Date.now() + 3_600_000).toISOString(), obtained_at: new Date().toISOString(),
    });
  });
  after(() => ambiguous?.cleanup());

  it('two routes for one host: nothing injected, and --verbose says why', async () => {
    const result = await ambiguous.run(curl('https://api.example.test/echo/twins'), { verbose: true });
    assert.equal(result.code, 0, result.stderr);
    const seen = upstream.received('/echo/twins');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers['x-api-key'], undefined);
    assert.equal(seen[0]!.headers['x-twin-key'], undefined);
    assert.match(result.stderr, /ambiguous: .*acme \(default\).* and .*acme-twin \(default\).*nothing injected/);
    assertNoSecretIn(result.stderr, [ACME_KEY, 'twin-secret-key-5555'], 'the verbose log');
  });

  it('--only lifts the ambiguity', async () => {
    const result = await ambiguous.run(curl('https://api.example.test/echo/one-twin'), { only: 'acme-twin' });
    assert.equal(result.code, 0, result.stderr);
    const seen = upstream.received('/echo/one-twin')[0]!;
    assert.equal(seen.headers['x-twin-key'], 'twin-secret-key-5555');
    assert.equal(seen.headers['x-api-key'], undefined);
  });

  it('a provider\'s own token endpoint gets no credential; its API on the same host does', async () => {
    const result = await ambiguous.run(['sh', '-c', [
      'curl -sS -X POST --data grant_type=refresh_token https://auth.example.test/oauth/token',
      'curl -sS https://auth.example.test/oauth/revoke',
      'curl -sS https://auth.example.test/echo/owner-api',
    ].join(' && ')], { only: 'owner', verbose: true });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(upstream.received('/oauth/token')[0]!.headers.authorization, undefined);
    assert.equal(upstream.received('/oauth/revoke')[0]!.headers.authorization, undefined);
    assert.equal(upstream.received('/echo/owner-api')[0]!.headers.authorization, `Bearer ${OWNER_TOKEN}`);
    assert.match(result.stderr, /auth\.example\.test\/oauth\/token is an OAuth endpoint of owner; never injected/);
    assertNoSecretIn(result.stderr, [OWNER_TOKEN], 'the verbose log');
  });

  it('an own endpoint written another way (//, %-escapes, dot-segments, absolute-form) still gets nothing', async () => {
    const result = await ambiguous.run(['sh', '-c', [
      'curl -sS --path-as-is https://auth.example.test//oauth/token',
      'curl -sS --path-as-is https://auth.example.test/oauth/%74oken',
      'curl -sS --path-as-is https://auth.example.test/echo/../oauth/token',
    ].join(' ; ')], { only: 'owner' });
    assert.equal(result.code, 0, result.stderr);
    const tokenHits = upstream.requests.filter((r) => r.path === '/oauth/token');
    assert.ok(tokenHits.length >= 3, `the normalized path went upstream (${tokenHits.map((r) => r.path).join(', ')})`);
    for (const hit of tokenHits) assert.equal(hit.headers.authorization, undefined);
  });

  it('a request naming another authority than its tunnel is refused, never forwarded with the credential', async () => {
    // An absolute-form target (RFC 9112 §3.2.2) inside the tunnel to auth.example.test, naming api.example.test.
    const result = await ambiguous.run(['node', '-e', `
      const tls = require('node:tls'); const http = require('node:http');
      const proxy = new URL(process.env.HTTPS_PROXY);
      const auth = 'Basic ' + Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
      const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: 'auth.example.test:443', headers: { 'proxy-authorization': auth } });
      req.on('connect', (res, socket) => {
        const s = tls.connect({ socket, servername: 'auth.example.test', ca: require('node:fs').readFileSync(process.env.SSL_CERT_FILE) }, () => {
          s.write('GET https://api.example.test/echo/smuggled HTTP/1.1\\r\\nHost: auth.example.test\\r\\nConnection: close\\r\\n\\r\\n');
        });
        let out = ''; s.on('data', (d) => (out += d)); s.on('end', () => console.log(out.split('\\r\\n')[0]));
      });
      req.end();
    `], { only: 'owner' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^HTTP\/1\.1 400/);
    assert.equal(upstream.requests.filter((r) => r.path === '/echo/smuggled').length, 0);
  });

  it('a path outside the route\'s prefix gets nothing', async () => {
    const prefixed = await proxyHome(upstream);
    try {
      await prefixed.register({ ...acme, name: 'prefixed', host_url: 'https://api.example.test/echo/v2' });
      await prefixed.login('prefixed', ACME_KEY);
      const result = await prefixed.run(['sh', '-c', ['/echo/v2', '/echo/v2/models', '/echo/v20', '/echo/other'].map((p) => `curl -sS https://api.example.test${p}`).join(' && ')]);
      assert.equal(result.code, 0, result.stderr);
      const keyAt = (path: string) => upstream.requests.find((r) => r.path === path)?.headers['x-api-key'];
      assert.equal(keyAt('/echo/v2'), ACME_KEY);
      assert.equal(keyAt('/echo/v2/models'), ACME_KEY);
      assert.equal(keyAt('/echo/v20'), undefined);
      assert.equal(keyAt('/echo/other'), undefined);
    } finally {
      await prefixed.cleanup();
    }
  });

  it('a host pattern matches the whole host, not a look-alike under another domain', async () => {
    const patterned = await proxyHome(upstream);
    try {
      await patterned.register({ ...acme, name: 'patterned', host_url: 'regex:api\\.example\\.test' });
      await patterned.login('patterned', ACME_KEY);
      const result = await patterned.run(['sh', '-c', [
        'curl -sS https://api.example.test/echo/pattern',
        'curl -sS https://api.example.test.attacker.test/echo/look-alike',
      ].join(' && ')]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(upstream.received('/echo/pattern')[0]!.headers['x-api-key'], ACME_KEY);
      const lookAlike = upstream.received('/echo/look-alike');
      assert.equal(lookAlike.length, 1);
      assert.equal(lookAlike[0]!.headers['x-api-key'], undefined, 'the key went to api.example.test.attacker.test');
    } finally {
      await patterned.cleanup();
    }
  });
});
