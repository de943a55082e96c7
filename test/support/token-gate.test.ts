// Proves the token gate: every mode in front of the real test server's token endpoint, with a rotating refresh token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as oauth from 'oauth4webapi';
import { startAuthServer } from './auth-server.ts';
import type { AuthServer } from './auth-server.ts';
import { followAuthorizationUrl } from './browser-sim.ts';
import { startTokenGate } from './token-gate.ts';
import { pkceAuthorizationUrl, withCallbackServer } from './pkce.ts';
import type { TokenGate } from './token-gate.ts';

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const client: oauth.Client = { client_id: 'authsome-public', token_endpoint_auth_method: 'none' };
let server: AuthServer;
let as: oauth.AuthorizationServer;
let gate: TokenGate;
/** The current refresh token of the shared grant (rotated by every successful refresh). */
let refreshToken: string;

/** A PKCE login of authsome-public through the browser simulator and a loopback callback; returns the refresh token. */
async function login(): Promise<string> {
  return withCallbackServer(async (redirectUri, got) => {
    const { url, verifier, state } = await pkceAuthorizationUrl(as.authorization_endpoint!, { clientId: client.client_id, redirectUri });
    await followAuthorizationUrl(url);
    const params = oauth.validateAuthResponse(as, client, await got, state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
    assert.ok(tokens.refresh_token);
    return tokens.refresh_token;
  });
}

/** A raw refresh request through the gate (what a broker process sends). */
const refreshThroughGate = (token: string, signal?: AbortSignal) =>
  fetch(gate.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id }),
    signal,
  });

const serverRefreshes = async () => (await server.counts()).token.refresh_token ?? 0;
const settled = <T>(promise: Promise<T>) => {
  const state = { done: false };
  promise.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  server = await startAuthServer();
  const issuer = new URL(server.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  gate = await startTokenGate(as.token_endpoint!);
  refreshToken = await login();
});
after(async () => {
  await gate?.close();
  await server?.close();
});

test('pass: a refresh through the gate works and reaches the server once', async () => {
  gate.mode('pass');
  const before = { server: await serverRefreshes(), requests: gate.requests(), forwarded: gate.forwarded() };
  // As a client would use it: the token endpoint replaced by the gate's URL.
  const viaGate = { ...as, token_endpoint: gate.url };
  const tokens = await oauth.processRefreshTokenResponse(viaGate, client, await oauth.refreshTokenGrantRequest(viaGate, client, oauth.None(), refreshToken, insecure));
  assert.ok(tokens.access_token && tokens.refresh_token && tokens.refresh_token !== refreshToken);
  assert.equal(await serverRefreshes(), before.server + 1);
  assert.equal(gate.requests(), before.requests + 1);
  assert.equal(gate.forwarded(), before.forwarded + 1);
  assert.equal(await server.isActive(refreshToken), false); // rotated
  refreshToken = tokens.refresh_token;
});

test('hold-request: held before the server sees it; release forwards it', async () => {
  gate.mode('hold-request');
  const before = { server: await serverRefreshes(), forwarded: gate.forwarded() };
  const pending = refreshThroughGate(refreshToken);
  const state = settled(pending);
  await gate.nextHeld();
  assert.equal(await serverRefreshes(), before.server); // upstream never saw it
  assert.equal(gate.forwarded(), before.forwarded);
  assert.equal(state.done, false);
  gate.release();
  const res = await pending;
  assert.equal(res.status, 200);
  const body = (await res.json()) as { refresh_token: string };
  assert.equal(gate.forwarded(), before.forwarded + 1);
  assert.equal(await serverRefreshes(), before.server + 1);
  refreshToken = body.refresh_token;
});

test('hold-request: a killed client is never forwarded on release, its refresh token stays valid', async () => {
  gate.mode('hold-request');
  const before = { server: await serverRefreshes(), forwarded: gate.forwarded() };
  // A real process that sends the refresh and is SIGKILLed while the gate holds it.
  const script = `fetch(${JSON.stringify(gate.url)}, { method: 'POST', body: new URLSearchParams(${JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id })}) })`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await gate.nextHeld();
  child.kill('SIGKILL');
  await exited;
  await sleep(50); // let the gate see the connection close
  gate.release();
  await sleep(50);
  assert.equal(gate.forwarded(), before.forwarded);
  assert.equal(await serverRefreshes(), before.server);
  assert.equal(await server.isActive(refreshToken), true);
});

test('hold-response: the server has rotated while the client still waits; release delivers the answer', async () => {
  gate.mode('hold-response');
  const before = { server: await serverRefreshes(), forwarded: gate.forwarded() };
  const pending = refreshThroughGate(refreshToken);
  const state = settled(pending);
  await gate.nextHeld();
  assert.equal(await serverRefreshes(), before.server + 1);
  assert.equal(gate.forwarded(), before.forwarded + 1);
  assert.equal(await server.isActive(refreshToken), false); // the old one is rotated away …
  assert.equal(state.done, false); // … and the client does not know yet
  gate.release();
  const res = await pending;
  assert.equal(res.status, 200);
  const body = (await res.json()) as { access_token: string; refresh_token: string };
  assert.equal(await server.isActive(body.refresh_token), true);
  const issued = await server.issuedTokens();
  assert.ok(issued.includes(body.access_token) && issued.includes(body.refresh_token));
  refreshToken = body.refresh_token;
});

test('fail-500, html and oauth-error answer without forwarding', async () => {
  const before = { server: await serverRefreshes(), forwarded: gate.forwarded(), requests: gate.requests() };

  gate.mode('fail-500');
  const failed = await refreshThroughGate(refreshToken);
  assert.equal(failed.status, 500);
  assert.match(failed.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await failed.json(), { error: 'server_error' });

  gate.mode('html');
  const html = await refreshThroughGate(refreshToken);
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await html.text(), /<form[^>]*>[\s\S]*password/);

  gate.mode('oauth-error', { error: 'invalid_grant', description: 'grant request is invalid' });
  const denied = await refreshThroughGate(refreshToken);
  assert.equal(denied.status, 400);
  assert.deepEqual(await denied.json(), { error: 'invalid_grant', error_description: 'grant request is invalid' });

  assert.equal(gate.requests(), before.requests + 3);
  assert.equal(gate.forwarded(), before.forwarded);
  assert.equal(await serverRefreshes(), before.server);
  assert.equal(await server.isActive(refreshToken), true);
});

test('slow: forwards after delayMs; a client that gives up first cancels it', async () => {
  gate.mode('slow', { delayMs: 200 });
  const started = Date.now();
  const res = await refreshThroughGate(refreshToken);
  assert.ok(Date.now() - started >= 190, `answered after ${Date.now() - started} ms`);
  assert.equal(res.status, 200);
  refreshToken = ((await res.json()) as { refresh_token: string }).refresh_token;

  const before = { server: await serverRefreshes(), forwarded: gate.forwarded() };
  gate.mode('slow', { delayMs: 300 });
  const abort = new AbortController();
  const pending = refreshThroughGate(refreshToken, abort.signal);
  await gate.nextHeld(); // slow requests count as held while they wait
  abort.abort();
  await assert.rejects(pending);
  await sleep(400);
  assert.equal(gate.forwarded(), before.forwarded);
  assert.equal(await serverRefreshes(), before.server);
});

test('hold-response with a dead client: the server rotated, the answer is dropped; the client never saw it', async () => {
  const token = await login(); // its own grant: this one ends with a refresh token nobody holds
  const before = (await server.issuedTokens()).length;
  gate.mode('hold-response');
  const abort = new AbortController();
  const pending = refreshThroughGate(token, abort.signal);
  await gate.nextHeld();
  abort.abort();
  await assert.rejects(pending);
  await sleep(50);
  gate.release();
  assert.equal(await server.isActive(token), false);
  const lost = (await server.issuedTokens()).slice(before); // what the server issued and no client received
  assert.equal(lost.length, 3); // access, refresh and ID token
  assert.equal(await server.isActive(lost[1]!), true); // recorded in field order: access, refresh, ID
});

test('close() ends held requests, rejects waiting nextHeld() calls and frees the port', async () => {
  const other = await startTokenGate(as.token_endpoint!);
  other.mode('hold-request');
  const pending = fetch(other.url, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }) });
  await other.nextHeld();
  other.mode('slow'); // the default 30 s: close() must not wait for it
  const slow = fetch(other.url, { method: 'POST', body: 'grant_type=refresh_token' });
  await other.nextHeld();
  const waiting = other.nextHeld(); // nothing left to report: waits
  const ended = Promise.all([assert.rejects(pending), assert.rejects(slow), assert.rejects(waiting, /token gate closed/)]);
  const started = Date.now();
  await other.close();
  assert.ok(Date.now() - started < 1000);
  await ended;
  await assert.rejects(fetch(other.url, { method: 'POST' }));
  assert.equal(other.forwarded(), 0);
});
