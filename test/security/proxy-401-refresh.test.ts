// Issue 14, item 7: an upstream's 401 drives at most one refresh per token generation, and none for
// a token younger than a minute. An upstream that refuses a fresh token (a missing scope, a wrong
// audience, or malice) used to cost a refresh per request — ten requests, ten rotating refresh
// tokens spent at the real token endpoint. Counted at the real oidc-provider.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { makeOld } from '../support/make-due.ts';
import { headerValues, proxyHome, type ProxyHome } from '../proxy/harness.ts';

let g: GatedOAuth;
let upstream: HttpsUpstream;
let h: ProxyHome;

const accessToken = async () => {
  const result = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: g.h.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};
/** Ten requests one after another, each printing its status. */
const tenRequests = (path: string) => ['sh', '-c', `for i in 1 2 3 4 5 6 7 8 9 10; do curl -sS --max-time 20 -o /dev/null -w '%{http_code}\\n' https://api.example.test${path}; done`];

before(async () => {
  [g, upstream] = await Promise.all([startGatedOAuth({ AUTHSOME_REFRESH_BACKOFF: '0' }), startHttpsUpstream()]);
  await g.registerGated({ host_url: 'api.example.test' });
  const login = await runCli(['login', 'testas'], { env: g.h.env });
  assert.equal(login.code, 0, login.stderr);
  h = await proxyHome(upstream, g.h);
});
after(async () => {
  await upstream?.close();
  await g?.close({ checkCanaries: true });
});
beforeEach(async () => {
  upstream.reset();
  g.gate.mode('pass');
});

describe('an upstream that answers every request 401', () => {
  it('a fresh token is never refreshed: ten 401s reach the child, the token endpoint sees nothing', async () => {
    // A refresh now: the token is seconds old when the run starts.
    const refreshed = await runCli(['refresh', 'testas'], { env: g.h.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const token = await accessToken();
    await g.as.resetCounts();
    const tokenPosts = g.gate.requests();
    upstream.reject.add('*');
    const result = await h.run(tenRequests('/oauth/fresh'), { verbose: true });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), Array(10).fill('401'));
    assert.equal(g.gate.requests() - tokenPosts, 0, 'token requests caused by the 401s');
    assert.equal((await g.as.counts()).token.refresh_token ?? 0, 0);
    const seen = upstream.received('/oauth/fresh');
    assert.equal(seen.length, 10, 'one request each, no replay');
    assert.ok(seen.every((r) => headerValues(r.rawHeaders, 'authorization')[0] === `Bearer ${token}`), 'every request carried the same token');
    assert.equal(await accessToken(), token, 'the stored token is the one the run started with');
    assert.match(result.stderr, /answered 401 and testas \(default\) → api\.example\.test was not renewed \(the token is \d+ s old; one under 60 s is refused for what it may do, not for its age, so it is not refreshed\); the 401 goes to the child/);
  });

  it('an old token: one refresh and one replay, then the new token — refused too — is not refreshed again', async () => {
    await makeOld(g.h.home, 'testas', 10 * 60_000);
    const old = await accessToken();
    await g.as.resetCounts();
    const tokenPosts = g.gate.requests();
    upstream.reject.add('*');
    const result = await h.run(tenRequests('/oauth/old'));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), Array(10).fill('401'));
    assert.equal(g.gate.requests() - tokenPosts, 1, 'token requests caused by ten 401s');
    assert.equal((await g.as.counts()).token.refresh_token, 1);
    const renewed = await accessToken();
    assert.notEqual(renewed, old);
    const sent = upstream.received('/oauth/old').map((r) => headerValues(r.rawHeaders, 'authorization')[0]);
    assert.deepEqual(sent, [`Bearer ${old}`, ...Array(10).fill(`Bearer ${renewed}`)], 'the old token once, then its replay and nine requests with the new one');
  });

  it('ten requests at once with an old token share one refresh', async () => {
    await makeOld(g.h.home, 'testas', 10 * 60_000);
    await g.as.resetCounts();
    upstream.reject.add('*');
    const one = 'curl -sS --max-time 20 -o /dev/null -w "%{http_code}\\n" https://api.example.test/oauth/together';
    const result = await h.run(['sh', '-c', `${Array(10).fill(`${one} &`).join(' ')} wait`]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), Array(10).fill('401'));
    assert.equal((await g.as.counts()).token.refresh_token, 1);
  });
});
