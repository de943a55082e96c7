// Issue 16, part 4: the library's authsome.fetch(url, init) adds the credential the route table
// chooses for the URL (header, query parameter, Basic pair, and the route's fixed headers), renews a
// due token first, and after an upstream 401 refreshes once and retries within the proxy's bounds
// (none for a token under a minute old) — counted at the real oidc-provider, sent to a real HTTPS
// upstream, from a program that imports the built package. requestHeaders(url), the headless
// login (device code approved on the server's own page), and Symbol.asyncDispose beside it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { approveUserCode } from '../support/browser-sim.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { runAgent, type AgentResult } from '../support/library-agent.ts';
import { makeDue, makeOld } from '../support/make-due.ts';
import { ACME_KEY, BETA_KEY, acme, gitty, headerValues, proxyHome } from '../proxy/harness.ts';

const Q_KEY = 'query-secret-key-424242';

let g: GatedOAuth;
let upstream: HttpsUpstream;
let origin: string;
let env: Record<string, string>;

const accessToken = async (connection = 'default') => {
  const result = await runCli(['get', 'testas', '--connection', connection, '--field', 'access_token', '--show-secret'], { env: g.h.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};
/** The program's only emitted value, failing with its stderr when it threw or printed nothing. */
const only = (result: AgentResult) => {
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.emitted.length, 1, `emitted ${JSON.stringify(result.emitted)}\n${result.stderr}`);
  return result.emitted[0];
};
const fetchJson = (url: string, init = '{}') => runAgent(`const r = await authsome.fetch(${JSON.stringify(url)}, ${init}); emit({ status: r.status, body: await r.text() });`, env);

before(async () => {
  [g, upstream] = await Promise.all([startGatedOAuth({ AUTHSOME_REFRESH_BACKOFF: '0' }), startHttpsUpstream()]);
  origin = `https://127.0.0.1:${upstream.port}`;
  await g.registerGated({ routes: [{ url: `${origin}/oauth` }] });
  const login = await runCli(['login', 'testas'], { env: g.h.env });
  assert.equal(login.code, 0, login.stderr);
  const h = await proxyHome(upstream, g.h);
  await h.register({ ...acme, routes: [{ url: `${origin}/echo/acme`, headers: { 'anthropic-version': '2023-06-01' } }, { url: `${origin}/redirect` }] });
  await h.register({ ...gitty, host_url: undefined, routes: [{ url: `${origin}/echo/git` }] });
  await h.register({ schema_version: 1, name: 'qkey', auth_type: 'api_key', flow: 'api_key', routes: [{ url: `${origin}/echo/q` }, { url: `${origin}/redirectq` }], api_key: { location: 'query', query_param: 'api_key', env_var: 'QKEY' } });
  await h.login('acme', ACME_KEY);
  await h.login('gitty', BETA_KEY);
  await h.login('qkey', Q_KEY);
  env = { ...g.h.env, NODE_EXTRA_CA_CERTS: upstream.caFile };
});
after(async () => {
  await upstream?.close();
  await g?.close({ checkCanaries: true });
});
beforeEach(async () => {
  upstream.reset();
  await g.as.resetCounts();
});

describe('authsome.fetch: the credential the route table chooses', () => {
  it('a header, the route\'s fixed header where the caller set none, and the caller\'s own headers and body', async () => {
    const { status, body } = only(await fetchJson(`${origin}/echo/acme/v1`, `{ method: 'POST', headers: { 'x-caller': 'yes', 'content-type': 'application/json' }, body: '{"q":1}' }`));
    assert.equal(status, 200);
    const echo = JSON.parse(body);
    assert.equal(echo.headers['x-api-key'], ACME_KEY);
    assert.equal(echo.headers['anthropic-version'], '2023-06-01');
    assert.equal(echo.headers['x-caller'], 'yes');
    assert.equal(echo.body, '{"q":1}');
    assert.equal(echo.method, 'POST');
  });

  it('a query parameter, and a Basic pair', async () => {
    only(await fetchJson(`${origin}/echo/q/search?term=x`));
    assert.deepEqual(upstream.received('/echo/q').at(-1)!.query, { term: 'x', api_key: Q_KEY });
    only(await fetchJson(`${origin}/echo/git/info`));
    assert.equal(upstream.received('/echo/git').at(-1)!.headers.authorization, `Basic ${Buffer.from(`x-access-token:${BETA_KEY}`).toString('base64')}`);
  });

  it('a redirect is followed with each hop decided again: no credential where no route sends it', async () => {
    const { status } = only(await fetchJson(`${origin}/redirect/go`));
    assert.equal(status, 200);
    assert.equal(upstream.received('/redirect').at(-1)!.headers['x-api-key'], ACME_KEY);
    const landed = upstream.received('/echo/landed').at(-1)!;
    assert.equal(landed.headers['x-api-key'], undefined, 'the key followed the redirect to a path no route covers');
    assert.equal(landed.headers['anthropic-version'], undefined);
  });

  it('a redirect that repeats the query does not carry a query key to a hop no route covers', async () => {
    const { status } = only(await fetchJson(`${origin}/redirectq/go?term=x`));
    assert.equal(status, 200);
    assert.deepEqual(upstream.received('/redirectq').at(-1)!.query, { term: 'x', api_key: Q_KEY });
    assert.deepEqual(upstream.received('/echo/landed').at(-1)!.query, { term: 'x' }, 'the key went along in the redirect\'s query');
  });

  it('a URL no route covers, and plain http, are refused with the reason; nothing is sent', async () => {
    const uncovered = only(await fetchJson(`${origin}/echo/nobody`));
    assert.equal(uncovered.thrown.error, 'provider_not_found');
    assert.match(uncovered.thrown.message, /no connection's route covers https:\/\/127\.0\.0\.1:\d+\/echo\/nobody/);
    const plain = only(await fetchJson(`http://127.0.0.1:${upstream.plainPort}/echo/acme/v1`));
    assert.equal(plain.thrown.error, 'provider_not_found');
    assert.match(plain.thrown.message, /plain http:\/\/ requests are forwarded untouched/);
    assert.equal(upstream.requests.length, 0);
  });

  it('requestHeaders(url) gives the headers alone, audited like get --show-secret', async () => {
    const headers = only(await runAgent(`emit(await authsome.requestHeaders(${JSON.stringify(`${origin}/echo/acme/x`)}));`, env));
    assert.deepEqual(headers, { 'anthropic-version': '2023-06-01', 'X-Api-Key': ACME_KEY });
    const entry = JSON.parse(readFileSync(join(g.h.home, 'audit.log'), 'utf8').trim().split('\n').at(-1)!);
    assert.deepEqual([entry.event, entry.provider, entry.field, entry.show_secret, entry.via], ['get', 'acme', 'headers', true, 'library']);
    const query = only(await runAgent(`emit(await authsome.requestHeaders(${JSON.stringify(`${origin}/echo/q/x`)}));`, env));
    assert.equal(query.thrown.error, 'flow_unsupported');
  });
});

describe('authsome.fetch and OAuth tokens', () => {
  it('a due token is refreshed before the request is sent', async () => {
    const old = await accessToken();
    await makeDue(g.h.home, 'testas');
    const tokenPosts = g.gate.requests();
    only(await fetchJson(`${origin}/oauth/due`));
    assert.equal(g.gate.requests() - tokenPosts, 1);
    const renewed = await accessToken();
    assert.notEqual(renewed, old);
    assert.equal(upstream.received('/oauth/due')[0]!.headers.authorization, `Bearer ${renewed}`);
  });

  it('an old token answered 401: one refresh, one retry with the new token, whose 200 is returned', async () => {
    await makeOld(g.h.home, 'testas', 10 * 60_000);
    const old = await accessToken();
    upstream.reject.add(old);
    const tokenPosts = g.gate.requests();
    const { status } = only(await fetchJson(`${origin}/oauth/old`, `{ method: 'PUT', body: 'replayed body' }`));
    assert.equal(status, 200);
    assert.equal(g.gate.requests() - tokenPosts, 1);
    assert.equal((await g.as.counts()).token.refresh_token, 1);
    const renewed = await accessToken();
    const seen = upstream.received('/oauth/old');
    assert.deepEqual(seen.map((r) => headerValues(r.rawHeaders, 'authorization')[0]), [`Bearer ${old}`, `Bearer ${renewed}`]);
    assert.deepEqual(seen.map((r) => r.body), ['replayed body', 'replayed body']);
  });

  it('a fresh token answered 401 is not refreshed: the 401 is returned, the token endpoint sees nothing', async () => {
    const refreshed = await runCli(['refresh', 'testas'], { env: g.h.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    upstream.reject.add('*');
    const tokenPosts = g.gate.requests();
    const result = await runAgent(`for (let i = 0; i < 3; i++) { const r = await authsome.fetch(${JSON.stringify(`${origin}/oauth/fresh`)}); emit(r.status); }`, env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.emitted, [401, 401, 401]);
    assert.equal(g.gate.requests() - tokenPosts, 0);
    assert.equal(upstream.received('/oauth/fresh').length, 3, 'one request each, no retry');
    upstream.reject.clear();
  });

  it('an old token refused again after its refresh: one refresh in all, the second 401 is returned', async () => {
    await makeOld(g.h.home, 'testas', 10 * 60_000);
    upstream.reject.add('*');
    const tokenPosts = g.gate.requests();
    const result = await runAgent(`for (let i = 0; i < 3; i++) { const r = await authsome.fetch(${JSON.stringify(`${origin}/oauth/always`)}); emit(r.status); }`, env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.emitted, [401, 401, 401]);
    assert.equal(g.gate.requests() - tokenPosts, 1, 'one refresh for three refused requests');
    assert.equal(upstream.received('/oauth/always').length, 4, 'the first request, its one retry, and two more');
    upstream.reject.clear();
  });

  it('an old token answered 401 whose refresh fails: the 401 is returned, not an exception', async () => {
    await makeOld(g.h.home, 'testas', 10 * 60_000);
    upstream.reject.add('*');
    g.gate.mode('oauth-error', { error: 'invalid_grant' });
    try {
      const result = await runAgent(`const r = await authsome.fetch(${JSON.stringify(`${origin}/oauth/unrenewable`)}); emit(r.status);`, env);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.emitted, [401], JSON.stringify(result.emitted));
    } finally {
      g.gate.mode('pass');
      upstream.reject.clear();
      // The grant was rejected: log in again for the tests after this one.
      assert.equal((await runCli(['login', 'testas', '--force'], { env: g.h.env })).code, 0);
    }
  });
});

describe('headless login and disposal', () => {
  it('headlessLogin() does the device flow from code: the prompt goes to onDeviceCode, the login waits for the person', async () => {
    const result = await runAgent(`
      const done = await authsome.loginWithOAuth('testas', headlessLogin({ onDeviceCode: (p) => emit({ uri: p.verificationUri, code: p.userCode }) }), { flow: 'device_code', connection: 'headless' });
      emit({ connection: done.connection, flow: done.flow, account: done.account.label });
    `, env, async (value) => {
      if (value.code) await approveUserCode(value.uri, value.code);
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.emitted.length, 2, JSON.stringify(result.emitted));
    assert.deepEqual(result.emitted[1], { connection: 'headless', flow: 'device_code', account: 'alice@example.test' });
    assert.ok(await accessToken('headless'));
  });

  it('headlessLogin() does client credentials from code: the client passed in, no form, no person', async () => {
    await g.h.register({ schema_version: 1, name: 'm2m', auth_type: 'oauth2', flow: 'client_credentials', oauth: { issuer: g.as.issuer } });
    const missing = only(await runAgent(`await authsome.loginWithOAuth('m2m', headlessLogin(), { flow: 'client_credentials' });`, env)).thrown;
    assert.equal(missing.error, 'input_required');
    const noSecret = only(await runAgent(`await authsome.loginWithOAuth('m2m', headlessLogin({ client: { clientId: 'm2m' } }), { flow: 'client_credentials' });`, env)).thrown;
    assert.equal(noSecret.error, 'input_required');
    assert.match(noSecret.hint, /client\.clientSecret/);
    const done = only(await runAgent(`const r = await authsome.loginWithOAuth('m2m', headlessLogin({ client: { clientId: 'm2m', clientSecret: 'm2m-secret-1234567' } }), { flow: 'client_credentials' }); emit({ flow: r.flow, connection: r.connection });`, env));
    assert.deepEqual(done, { flow: 'client_credentials', connection: 'default' });
    assert.deepEqual((await g.as.counts()).token, { client_credentials: 1 });
  });

  it('a flow that needs a browser is refused at once, naming the flows that work', async () => {
    const thrown = only(await runAgent(`await authsome.loginWithOAuth('testas', headlessLogin({ onDeviceCode: () => {} }), { flow: 'pkce', connection: 'nobrowser', force: true });`, env)).thrown;
    assert.equal(thrown.error, 'flow_unsupported');
    assert.match(thrown.message, /a headless login to testas cannot receive a browser's redirect/);
    assert.match(thrown.hint, /device_code/);
  });

  it('await using / Symbol.asyncDispose closes the instance like close()', async () => {
    const result = await runAgent(`
      const scoped = new Authsome();
      await scoped.list();
      await scoped[Symbol.asyncDispose]();
      emit(typeof scoped[Symbol.asyncDispose]);
    `, env);
    assert.deepEqual(only(result), 'function');
  });
});
