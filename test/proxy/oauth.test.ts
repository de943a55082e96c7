// `run` with an OAuth connection, logged in at the real test authorization server: an upstream 401
// costs one refresh and one replay (the POST body intact), however many requests saw it; a token
// that falls due is renewed before it is injected; and the child's environment holds no secret —
// no API key, no access or refresh token, not AUTHSOME_MASTER_KEY — only placeholders.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { runCli } from '../support/cli.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { makeDue, makeOld } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { startTokenGate, type TokenGate } from '../support/token-gate.ts';
import { ACME_KEY, acme, assertNoSecretIn, headerValues, lastJson, masterKeyOf, proxyHome, type ProxyHome } from './harness.ts';

let as: AuthServer;
let gate: TokenGate;
let upstream: HttpsUpstream;
let oh: OAuthHome;
let h: ProxyHome;

const field = async (name: 'access_token' | 'refresh_token') => {
  const result = await runCli(['get', 'testas', '--field', name, '--show-secret'], { env: oh.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};
const bearerOf = (raw: string[]) => headerValues(raw, 'authorization').map((v) => v.replace(/^Bearer /, ''));

before(async () => {
  [as, upstream] = await Promise.all([startAuthServer({ accessTokenTtl: 3600 }), startHttpsUpstream()]);
  // The token endpoint behind a gate, so a test can make a refresh fail.
  gate = await startTokenGate(`${as.issuer}/token`);
  // No refresh back-off: each test starts from a renewed connection (beforeEach), whatever the last one left.
  oh = await oauthHome({ AUTHSOME_REFRESH_BACKOFF: '0' });
  await oh.register(testProvider(as, { host_url: 'api.example.test', oauth: { token_url: gate.url } }));
  const login = await runCli(['login', 'testas'], { env: oh.env });
  assert.equal(login.code, 0, login.stderr);
  h = await proxyHome(upstream, oh);
  // An API-key provider beside it, on another host, for the environment test.
  await h.register({ ...acme, host_url: 'other.example.test' });
  await h.login('acme', ACME_KEY);
});
after(async () => {
  const tokens = await as?.issuedTokens().catch(() => []);
  if (oh && tokens?.length) await assertNoTokenIn([join(oh.home, 'audit.log'), join(oh.home, 'logs')], [...tokens, ACME_KEY]);
  await oh?.cleanup();
  await upstream?.close();
  await gate?.close();
  await as?.close();
});
beforeEach(async () => {
  gate.mode('pass');
  upstream.reset();
  await field('access_token'); // renews a connection an earlier test left expired, before the counts start
  // A token in use for ten minutes: the proxy does not refresh one younger than a minute on a 401.
  await makeOld(oh.home, 'testas', 10 * 60_000);
  await as.resetCounts();
});

describe('an upstream 401 on an OAuth route', () => {
  it('one refresh, one replay with the new token, the POST body intact', async () => {
    const old = await field('access_token');
    upstream.reject.add(old);
    const body = JSON.stringify({ replay: 'this body', n: [1, 2, 3] });
    const result = await h.run(['curl', '-sS', '--max-time', '20', '-X', 'POST', '-H', 'content-type: application/json', '--data', body, '-w', '\nstatus=%{http_code}\n', 'https://api.example.test/oauth/items']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /status=200/);
    const seen = upstream.received('/oauth/items');
    assert.equal(seen.length, 2, 'the request, then its replay');
    const renewed = await field('access_token');
    assert.notEqual(renewed, old);
    assert.deepEqual(seen.map((r) => bearerOf(r.rawHeaders)), [[old], [renewed]], 'first the old token (401), then the new one');
    assert.deepEqual(seen.map((r) => [r.method, r.body]), [['POST', body], ['POST', body]]);
    assert.equal(lastJson(result).body, body, 'the child got the replay\'s answer');
    assert.equal((await as.counts()).token.refresh_token, 1);
    const entry = await h.lastRun();
    assert.equal(entry.hosts['api.example.test'].statuses['200'], 1);
    assertNoSecretIn(JSON.stringify(entry), [old, renewed], 'the run audit entry');
  });

  it('three requests that see the 401 at once share one refresh', async () => {
    upstream.reject.add(await field('access_token'));
    const one = 'curl -sS --max-time 20 -o /dev/null -w "%{http_code}\\n" https://api.example.test/oauth/parallel';
    const result = await h.run(['sh', '-c', `${one} & ${one} & ${one} & wait`]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['200', '200', '200']);
    assert.equal((await as.counts()).token.refresh_token, 1);
    const renewed = await field('access_token');
    const arrived = upstream.received('/oauth/parallel').filter((r) => r.headers.authorization === `Bearer ${renewed}`);
    assert.equal(arrived.length, 3, 'each request was answered with the new token');
  });

  it('a 401 again after the replay reaches the child: no second refresh', async () => {
    upstream.reject.add('*');
    const result = await h.run(['curl', '-sS', '--max-time', '20', '-D', '-', '-o', '/dev/null', 'https://api.example.test/oauth/always']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^HTTP\/1\.1 401 /m, 'the 401 reached the child');
    assert.match(result.stdout, /^www-authenticate: Bearer error="invalid_token"/im);
    assert.equal(upstream.received('/oauth/always').length, 2);
    assert.equal((await as.counts()).token.refresh_token, 1);
  });
});

describe('an upstream 401 on an OAuth route: the edges', () => {
  it('a 200 KiB body (curl sends Expect: 100-continue) is replayed intact', async () => {
    upstream.reject.add(await field('access_token'));
    const body = 'x'.repeat(200 * 1024);
    const result = await h.run(['sh', '-c', 'head -c 204800 /dev/zero | tr "\\0" x | curl -sS --max-time 20 -X POST --data-binary @- -o /dev/null -w "status=%{http_code}\\n" https://api.example.test/oauth/large']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /status=200/);
    const seen = upstream.received('/oauth/large');
    assert.equal(seen.length, 2);
    assert.ok(seen.every((r) => r.body === body), `bodies of ${seen.map((r) => r.body.length).join(' and ')} bytes arrived`);
    assert.equal((await as.counts()).token.refresh_token, 1);
  });

  it('a body over 1 MiB is not replayed: the 401 reaches the child', async () => {
    upstream.reject.add(await field('access_token'));
    const result = await h.run(['sh', '-c', 'head -c 1100000 /dev/zero | curl -sS --max-time 20 -X POST --data-binary @- -o /dev/null -w "status=%{http_code}\\n" https://api.example.test/oauth/huge']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /status=401/);
    const seen = upstream.received('/oauth/huge');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.body.length, 1_100_000);
  });

  it('a refresh that fails (HTTP 500): the 401 reaches the child, with no replay of the refused token', async () => {
    upstream.reject.add(await field('access_token'));
    gate.mode('fail-500');
    const tokenPosts = gate.requests();
    const result = await h.run(['curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', 'status=%{http_code}\n', 'https://api.example.test/oauth/refresh-fails']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /status=401/);
    assert.equal(gate.requests() - tokenPosts, 1, 'one refresh attempt for one 401');
    assert.equal(upstream.received('/oauth/refresh-fails').length, 1, 'the token the upstream just refused was sent again');
  });

  it('a refresh the server rejects (invalid_grant): the 401 reaches the child at once, complete', async () => {
    upstream.reject.add(await field('access_token'));
    gate.mode('oauth-error', { error: 'invalid_grant', description: 'grant request is invalid' });
    const started = Date.now();
    try {
      const result = await h.run(['curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', 'status=%{http_code}\n', 'https://api.example.test/oauth/refresh-rejected']);
      assert.match(result.stdout, /status=401/);
      assert.equal(result.code, 0, `curl: ${result.stderr.trim().split('\n').pop()} after ${Date.now() - started} ms (28 = it waited for a body that never came)`);
      assert.equal(upstream.received('/oauth/refresh-rejected').length, 1);
    } finally {
      // The connection is invalid now: log in again for the tests after this one.
      gate.mode('pass');
      const login = await runCli(['login', 'testas', '--force'], { env: oh.env });
      assert.equal(login.code, 0, login.stderr);
    }
  });
});

describe('a token that falls due', () => {
  it('is renewed before it is injected: the upstream only sees the new token', async () => {
    const old = await field('access_token');
    await makeDue(oh.home, 'testas');
    const result = await h.run(['curl', '-sS', '--max-time', '20', 'https://api.example.test/echo/due']);
    assert.equal(result.code, 0, result.stderr);
    const renewed = await field('access_token');
    assert.notEqual(renewed, old);
    assert.deepEqual(upstream.received('/echo/due').map((r) => bearerOf(r.rawHeaders)), [[renewed]]);
    assert.equal((await as.counts()).token.refresh_token, 1);
    assert.equal(await as.isActive(renewed), true);
  });
});

describe('the child\'s environment', () => {
  it('holds placeholders and the proxy settings, never a secret', async () => {
    const access = await field('access_token');
    const refresh = await field('refresh_token');
    const masterKey = masterKeyOf(oh.home);
    const result = await h.run(['env'], {
      env: { AUTHSOME_MASTER_KEY: masterKey, ACME_KEY: 'real-key-from-the-shell', TESTAS_TOKEN: 'real-token-from-the-shell' },
    });
    assert.equal(result.code, 0, result.stderr);
    const env = new Map(result.stdout.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    assertNoSecretIn(result.stdout, [ACME_KEY, access, refresh, masterKey, 'real-key-from-the-shell', 'real-token-from-the-shell'], 'the child\'s environment');
    assert.equal(env.has('AUTHSOME_MASTER_KEY'), false);
    assert.equal(env.get('ACME_KEY'), 'authsome-proxy-managed');
    assert.equal(env.get('TESTAS_TOKEN'), 'authsome-proxy-managed');
    const proxyUrl = env.get('HTTPS_PROXY') ?? '';
    assert.match(proxyUrl, /^http:\/\/authsome:[^@]+@127\.0\.0\.1:\d+$/);
    for (const name of ['https_proxy', 'HTTP_PROXY', 'http_proxy']) assert.equal(env.get(name), proxyUrl, name);
    const bundle = env.get('SSL_CERT_FILE');
    // One bundle per run (runs started together must not trust each other's CA), removed afterwards.
    assert.match(bundle ?? '', new RegExp(`^${join(oh.home, 'proxy').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/bundle-\\d+-[0-9a-f]+\\.pem$`));
    assert.equal(existsSync(bundle!), false, 'the run\'s bundle is removed when it ends');
    for (const name of ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'NODE_EXTRA_CA_CERTS']) assert.equal(env.get(name), bundle, name);
    assert.match(env.get('NODE_OPTIONS') ?? '', /--require "[^"]+preload\.cjs"/);
    assert.match(env.get('NO_PROXY') ?? '', /(^|,)127\.0\.0\.1(,|$)/);
    // The run still worked from AUTHSOME_MASTER_KEY: it reached the vault for the routes.
    const entry = await h.lastRun();
    assert.deepEqual([...entry.routes].sort(), ['acme (default) → other.example.test', 'testas (default) → api.example.test']);
  });
});
