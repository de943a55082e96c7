// Proves the test support works: the child-process authorization server, the browser simulator and Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { startAuthServer } from './auth-server.ts';
import type { AuthServer } from './auth-server.ts';
import { approveUserCode, collectRedirectToCallback, followAuthorizationUrl } from './browser-sim.ts';
import { launchChromium } from './chromium.ts';
import { pkceAuthorizationUrl, withCallbackServer } from './pkce.ts';

const insecure = { [oauth.allowInsecureRequests]: true } as const; // the test server is plain http on 127.0.0.1
const publicClient: oauth.Client = { client_id: 'authsome-public', token_endpoint_auth_method: 'none' };
let server: AuthServer;
let as: oauth.AuthorizationServer;

before(async () => {
  server = await startAuthServer();
  const issuer = new URL(server.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
});
after(() => server?.close());

const authorizationUrl = (redirectUri: string, extra: Record<string, string> = {}, endpoint = as.authorization_endpoint!) =>
  pkceAuthorizationUrl(endpoint, { clientId: publicClient.client_id, redirectUri, extra });

/** A full PKCE login (authsome-public unless told) through the browser simulator and a real loopback callback. */
async function login(extra: Record<string, string> = {}, client = publicClient, auth = oauth.None()) {
  return withCallbackServer(async (redirectUri, got) => {
    const { url, verifier, state } = await authorizationUrl(redirectUri, { client_id: client.client_id, ...extra });
    const page = await followAuthorizationUrl(url);
    assert.equal(page.status, 200);
    assert.ok(page.url.startsWith(redirectUri), page.url);
    const params = oauth.validateAuthResponse(as, client, await got, state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, insecure);
    return oauth.processAuthorizationCodeResponse(as, client, response);
  });
}

test('discovery: RFC 8414 and OpenID documents list every endpoint the broker uses', async () => {
  for (const key of ['authorization_endpoint', 'token_endpoint', 'device_authorization_endpoint', 'registration_endpoint', 'revocation_endpoint', 'introspection_endpoint'] as const) {
    assert.ok(as[key]?.startsWith(server.issuer), key);
  }
  assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
  assert.equal((await fetch(`${server.issuer}/.well-known/openid-configuration`)).status, 200);
});

test('PKCE login through the browser simulator reaches the loopback callback; counts are exact', async () => {
  await server.resetCounts();
  const tokens = await login();
  assert.ok(tokens.access_token && tokens.refresh_token);
  const counts = await server.counts();
  assert.deepEqual(counts.token, { authorization_code: 1 });
  const me = await fetch(server.apiUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.deepEqual(await me.json(), { sub: 'alice', email: 'alice@example.test' });
});

test('issuedTokens: every token the client received from a login and a refresh was recorded', async () => {
  const tokens = await login();
  const refreshed = await oauth.processRefreshTokenResponse(as, publicClient, await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), tokens.refresh_token!, insecure));
  const m2m: oauth.Client = { client_id: 'm2m' };
  const credentials = await oauth.processClientCredentialsResponse(as, m2m, await oauth.clientCredentialsGrantRequest(as, m2m, oauth.ClientSecretBasic('m2m-secret-1234567'), {}, insecure));
  const received = [tokens, refreshed].flatMap((t) => [t.access_token, t.refresh_token, t.id_token]);
  received.push(credentials.access_token);
  assert.ok(received.every((t) => typeof t === 'string' && t.length >= 8), 'login and refresh hand out AT, RT and ID token');
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token); // rotated: both are in the record
  const issued = await server.issuedTokens();
  for (const token of received) assert.ok(issued.includes(token!), `${token!.slice(0, 8)}… not recorded`);
});

test('confidential clients log in too (client_secret_basic, client_secret_post)', async () => {
  const basic = await login({}, { client_id: 'authsome-confidential' }, oauth.ClientSecretBasic('confidential-secret-123456'));
  const post = await login({}, { client_id: 'authsome-post' }, oauth.ClientSecretPost('post-secret-1234567'));
  assert.ok(basic.refresh_token && post.refresh_token);
});

test('native loopback redirect: any port, 127.0.0.1 or localhost, same path', async () => {
  const { url } = await authorizationUrl('http://localhost:4567/auth/callback/oauth');
  const callback = new URL(await collectRedirectToCallback(url));
  assert.equal(callback.origin, 'http://localhost:4567');
  assert.ok(callback.searchParams.get('code'));
  const wrongPath = await authorizationUrl('http://127.0.0.1:4567/elsewhere');
  const page = await followAuthorizationUrl(wrongPath.url);
  assert.equal(page.status, 400); // an unregistered redirect_uri is never redirected to
  assert.match(page.html, /redirect_uri did not match/);
});

test('deny mode sends error=access_denied to the callback', async () => {
  await server.setInteraction('deny');
  try {
    await withCallbackServer(async (redirectUri, got) => {
      await followAuthorizationUrl((await authorizationUrl(redirectUri)).url);
      const params = await got;
      assert.equal(params.get('error'), 'access_denied');
      assert.equal(params.get('error_description'), 'The user denied the request');
    });
  } finally {
    await server.setInteraction('approve');
  }
});

test('device flow: approved through the /device pages, or aborted', async () => {
  const start = async () =>
    oauth.processDeviceAuthorizationResponse(as, publicClient, await oauth.deviceAuthorizationRequest(as, publicClient, oauth.None(), { scope: 'openid' }, insecure));
  const poll = async (deviceCode: string) =>
    oauth.processGenericTokenEndpointResponse(as, publicClient, await oauth.deviceCodeGrantRequest(as, publicClient, oauth.None(), deviceCode, insecure));
  const approved = await start();
  await approveUserCode(approved.verification_uri, approved.user_code);
  const tokens = await poll(approved.device_code);
  assert.ok(tokens.access_token && tokens.refresh_token);
  const aborted = await start();
  await approveUserCode(aborted.verification_uri_complete!, aborted.user_code, { deny: true }); // the code is in the URL
  await assert.rejects(poll(aborted.device_code), { error: 'access_denied' });
});

test('client_credentials for m2m', async () => {
  const client: oauth.Client = { client_id: 'm2m' };
  const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic('m2m-secret-1234567'), {}, insecure);
  const tokens = await oauth.processClientCredentialsResponse(as, client, response);
  assert.ok(await server.isActive(tokens.access_token));
});

test('DCR, then deleteClient: the RFC 7592 read of that client fails', async () => {
  const metadata = { application_type: 'native', redirect_uris: ['http://127.0.0.1/auth/callback/oauth'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'] };
  const registered = await oauth.processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(as, metadata, insecure));
  const read = () =>
    fetch(registered.registration_client_uri as string, { headers: { authorization: `Bearer ${registered.registration_access_token as string}` } });
  assert.equal((await read()).status, 200);
  await server.deleteClient(registered.client_id);
  assert.equal((await read()).status, 401);
  assert.equal((await server.counts()).registration, 1);
});

test('revocation: isActive turns false', async () => {
  const tokens = await login();
  assert.equal(await server.isActive(tokens.refresh_token!), true);
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, publicClient, oauth.None(), tokens.refresh_token!, insecure));
  assert.equal(await server.isActive(tokens.refresh_token!), false);
  assert.equal(await server.isActive(tokens.access_token), false); // revoking the RT revokes its grant's ATs too
});

test('MCP resource: 401 with resource_metadata, RFC 9728 document, 200 with an audience-bound token', async () => {
  const unauthenticated = await fetch(server.resourceUrl);
  assert.equal(unauthenticated.status, 401);
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(unauthenticated.headers.get('www-authenticate') ?? '')?.[1];
  assert.ok(metadataUrl);
  const prm = (await (await fetch(metadataUrl)).json()) as { resource: string; authorization_servers: string[] };
  assert.equal(prm.resource, server.resourceUrl);
  assert.deepEqual(prm.authorization_servers, [server.issuer]);

  const plain = await login();
  assert.equal((await fetch(server.resourceUrl, { headers: { authorization: `Bearer ${plain.access_token}` } })).status, 401);
  const bound = await login({ resource: server.resourceUrl, scope: 'openid mcp:read mcp:write' });
  const ok = await fetch(server.resourceUrl, { headers: { authorization: `Bearer ${bound.access_token}` } });
  assert.deepEqual(await ok.json(), { ok: true, sub: 'alice', scope: 'mcp:read mcp:write' });
  // A refresh without `resource` keeps the granted audience (useGrantedResource).
  const refreshed = await oauth.processRefreshTokenResponse(as, publicClient, await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), bound.refresh_token!, insecure));
  assert.equal((await fetch(server.resourceUrl, { headers: { authorization: `Bearer ${refreshed.access_token}` } })).status, 200);
});

test('options reach the child: 2 s access tokens expire sharply (clockTolerance 0), deny mode from the start', async () => {
  const short = await startAuthServer({ accessTokenTtl: 2, interaction: 'deny' });
  try {
    const response = await fetch(`${short.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('m2m:m2m-secret-1234567').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const { access_token: token, expires_in: expiresIn } = (await response.json()) as { access_token: string; expires_in: number };
    assert.equal(expiresIn, 2);
    assert.equal((await fetch(short.apiUrl, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal(await short.isActive(token), false);
    assert.equal((await fetch(short.apiUrl, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    const { url } = await authorizationUrl('http://127.0.0.1:4567/auth/callback/oauth', {}, `${short.issuer}/auth`);
    assert.equal(new URL(await collectRedirectToCallback(url)).searchParams.get('error'), 'access_denied'); // started in deny mode
  } finally {
    await short.close();
  }
});

test('Chromium: launch, read the discovery document, close', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.issuer}/.well-known/oauth-authorization-server`);
    assert.equal((JSON.parse(await page.locator('body').innerText()) as { issuer: string }).issuer, server.issuer);
  } finally {
    await browser.close();
  }
});
