// The fake JSON provider's own contract, so tests built on it can trust it: JSON bodies only,
// single-use rotating refresh tokens, revocation that ends the grant, and each test control.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startJsonProvider, type JsonProvider } from './json-provider.ts';

let p: JsonProvider;
before(async () => {
  p = await startJsonProvider({ clientSecret: 'first-secret' });
});
after(() => p.close());

const post = (url: string, body: unknown, type = 'application/json') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body: type === 'application/json' ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>) })
    .then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
const refresh = (token: string, secret = p.clientSecret) =>
  post(p.urls.refresh, { grant_type: 'refresh_token', refresh_token: token, client_id: p.clientId, client_secret: secret });

describe('json-provider', () => {
  it('refuses a form body with 415 invalid_request, and counts and records it', async () => {
    p.clearRequests();
    const answer = await post(p.urls.refresh, { grant_type: 'refresh_token', refresh_token: 'x', client_id: p.clientId, client_secret: p.clientSecret }, 'application/x-www-form-urlencoded');
    assert.equal(answer.status, 415);
    assert.equal(answer.json.error, 'invalid_request');
    assert.equal(p.count('refresh'), 1);
    assert.equal(p.lastRequest('refresh')!.body, null);
    assert.equal(p.lastRequest('refresh')!.status, 415);
  });

  it('rotates refresh tokens once each: the old one then gets 400 invalid_grant', async () => {
    const pair = p.issuePair();
    const first = await refresh(pair.refresh_token);
    assert.equal(first.status, 200);
    assert.equal(first.json.expires_in, 3600);
    assert.notEqual(first.json.refresh_token, pair.refresh_token);
    assert.deepEqual(p.lastRequest('refresh')!.body, { grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: p.clientId, client_secret: p.clientSecret });
    const again = await refresh(pair.refresh_token);
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    assert.equal(p.isLive(first.json.refresh_token as string), true);
  });

  it('revokes a refresh token (the grant ends) and answers 200', async () => {
    const pair = p.issuePair();
    const answer = await post(p.urls.revoke, { token: pair.refresh_token, client_id: p.clientId, client_secret: p.clientSecret });
    assert.equal(answer.status, 200);
    assert.equal(p.isLive(pair.refresh_token), false);
    assert.equal(p.isLive(pair.access_token), false);
    assert.equal((await refresh(pair.refresh_token)).json.error, 'invalid_grant');
  });

  it('answers a chosen OAuth error without spending the token', async () => {
    const pair = p.issuePair();
    p.failWith('refresh', 'temporarily_unavailable', { description: 'try later' });
    const failed = await refresh(pair.refresh_token);
    assert.equal(failed.status, 503);
    assert.deepEqual(failed.json, { error: 'temporarily_unavailable', error_description: 'try later' });
    assert.equal((await refresh(pair.refresh_token)).status, 200, 'only the next request failed');
  });

  it('after rotateClientSecret the old secret gets 401 invalid_client', async () => {
    const pair = p.issuePair();
    const old = p.clientSecret;
    const next = p.rotateClientSecret('second-secret');
    assert.equal(next, 'second-secret');
    assert.equal(p.clientEnv.JSONPROV_CLIENT_SECRET, 'second-secret');
    const refused = await refresh(pair.refresh_token, old);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error, 'invalid_client');
    assert.equal((await refresh(pair.refresh_token)).status, 200);
  });

  it('hangs until released, and a closed port refuses connections until reopened', async () => {
    const pair = p.issuePair();
    p.hang('refresh');
    let settled = false;
    const pending = refresh(pair.refresh_token).finally(() => (settled = true));
    await p.nextHeld('refresh');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(settled, false);
    p.release();
    assert.equal((await pending).status, 200);

    await p.closePort();
    await assert.rejects(fetch(p.urls.me), /fetch failed/);
    await p.reopen();
    assert.equal((await fetch(p.urls.me)).status, 401);
  });
});
