// Revocation as providers do it and tokens where providers put them (issue 15), through the built
// CLI against the fake in test/support/json-provider.ts: the token as its own bearer credential
// (Dropbox /2/auth/token/revoke, Slack auth.revoke) with Slack's HTTP 200 {"ok": false} failure,
// a DELETE naming the token in the path, a JSON body with Notion's Notion-Version header, and
// Slack's user token nested under authed_user beside a bot token at the top level.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, runCliJson } from '../support/cli.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

const secret = async (h: OAuthHome, field: string, connection = 'default') => {
  const result = await runCli(['get', 'jsonprov', '--connection', connection, '--field', field, '--show-secret'], { env: h.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};

describe('revocation in the provider\'s dialect', () => {
  let provider: JsonProvider;
  let h: OAuthHome;
  before(async () => {
    provider = await startJsonProvider();
    // No background refresh: every request the provider sees is one the test made.
    h = await oauthHome({ ...provider.clientEnv, AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
  });
  after(async () => {
    await h?.cleanup();
    await provider?.close();
  });

  it('bearer: the access token authenticates its own revocation, with no body and no client secret (Dropbox, Slack)', async () => {
    await h.register(provider.definition({ oauth: { revocation_url: provider.urls.revoke_bearer, revocation: { style: 'bearer' } } }));
    assert.equal((await runCli(['login', 'jsonprov', '--force'], { env: h.env })).code, 0);
    const access = await secret(h, 'access_token');
    const refresh = await secret(h, 'refresh_token');
    provider.clearRequests();
    const result = await runCli(['logout', 'jsonprov', '--verbose'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /jsonprov revoked the token\./);
    assert.equal(provider.count('revoke_bearer'), 1);
    const request = provider.lastRequest('revoke_bearer')!;
    assert.equal(request.method, 'POST');
    assert.equal(request.headers.authorization, `Bearer ${access}`);
    assert.equal(request.raw, '', 'no body: the token is the credential');
    assert.doesNotMatch(request.raw + JSON.stringify(request.headers), new RegExp(provider.clientSecret), 'the client secret is not sent');
    assert.equal(provider.isLive(refresh), false, 'the whole grant is gone at the provider');
    assert.doesNotMatch(result.stderr, new RegExp(access), '--verbose never shows the token');
  });

  it('bearer: an access token past its time is renewed first (the refresh protocol), and the fresh one is revoked', async () => {
    assert.equal((await runCli(['login', 'jsonprov', '--force'], { env: h.env })).code, 0);
    const stale = await secret(h, 'access_token');
    await makeDue(h.home, 'jsonprov');
    provider.clearRequests();
    const result = await runCli(['logout', 'jsonprov'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /jsonprov revoked the token\./);
    assert.equal(provider.count('refresh'), 1, 'renewed once before the revocation');
    const sent = provider.lastRequest('revoke_bearer')!.headers.authorization;
    assert.notEqual(sent, `Bearer ${stale}`, 'the expired token would be refused, leaving the grant alive');
    assert.match(String(sent), /^Bearer \S+$/);
  });

  it('bearer: Slack\'s HTTP 200 {"ok": false, "error"} is a failed revocation, reported as such; the connection is still removed', async () => {
    assert.equal((await runCli(['login', 'jsonprov', '--force'], { env: h.env })).code, 0);
    const access = await secret(h, 'access_token');
    const refresh = await secret(h, 'refresh_token');
    provider.failWith('revoke_bearer', 'invalid_auth');
    const { code, json } = await runCliJson<{ remote: Record<string, { status: string; error?: string }> }>(['logout', 'jsonprov'], { env: h.env });
    assert.equal(code, 0);
    assert.equal(provider.lastRequest('revoke_bearer')!.headers.authorization, `Bearer ${access}`, 'a well-formed request, refused by the provider');
    assert.equal(provider.lastRequest('revoke_bearer')!.status, 200);
    assert.equal(json.remote.default!.status, 'failed');
    assert.match(json.remote.default!.error!, /the revocation endpoint of jsonprov answered invalid_auth/);
    assert.equal(provider.isLive(refresh), true, 'the provider did not revoke it, and authsome does not claim it did');
    assert.equal((await runCli(['get', 'jsonprov'], { env: h.env })).code, 5);
  });

  it('DELETE: the refresh token goes in the path, URL-encoded, with no body; --verbose shows it masked', async () => {
    await h.register(provider.definition({ oauth: { revocation_url: `${provider.origin}/api/tokens/{token}`, revocation: { method: 'DELETE' } } }));
    assert.equal((await runCli(['login', 'jsonprov', '--force'], { env: h.env })).code, 0);
    const refresh = await secret(h, 'refresh_token');
    provider.clearRequests();
    const result = await runCli(['logout', 'jsonprov', '--verbose'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /jsonprov revoked the token\./);
    const request = provider.lastRequest('revoke_delete')!;
    assert.equal(request.method, 'DELETE');
    assert.equal(request.path, `/api/tokens/${encodeURIComponent(refresh)}`);
    assert.equal(request.raw, '');
    assert.equal(request.status, 204);
    assert.equal(provider.isLive(refresh), false);
    assert.match(result.stderr, /oauth → DELETE http:\/\/127\.0\.0\.1:\d+\/api\/tokens\/\[REDACTED\]/);
    assert.doesNotMatch(result.stderr, new RegExp(refresh));
  });

  it('JSON with extra headers: {"token", …} and Notion-Version, as Notion\'s revoke endpoint requires', async () => {
    await h.register(provider.definition({ oauth: { revocation: { style: 'json', headers: { 'Notion-Version': '2025-09-03' } } } }));
    assert.equal((await runCli(['login', 'jsonprov', '--force'], { env: h.env })).code, 0);
    const refresh = await secret(h, 'refresh_token');
    provider.clearRequests();
    assert.equal((await runCli(['logout', 'jsonprov'], { env: h.env })).code, 0);
    const request = provider.lastRequest('revoke')!;
    assert.equal(request.headers['notion-version'], '2025-09-03');
    assert.deepEqual(request.body, { token: refresh, client_id: provider.clientId, client_secret: provider.clientSecret });
    assert.equal(provider.isLive(refresh), false);
  });

  it('a login whose answer lacks the object token_response_path names fails, naming it, and stores nothing', async () => {
    await h.register(provider.definition({ name: 'nestless', oauth: { token_response_path: 'authed_user' } }));
    const result = await runCli(['login', 'nestless'], { env: h.env });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /"response" body "authed_user\.access_token" property must be a string \(the definition's oauth\.token_response_path\)/);
    assert.equal((await runCli(['get', 'nestless'], { env: h.env })).code, 5, 'no connection was stored');
  });

  it('a definition is refused when a DELETE has no {token} to carry, or a header would replace authsome\'s own', async () => {
    for (const [revocation, field] of [
      [{ method: 'DELETE' }, 'oauth.revocation_url'],
      [{ headers: { Authorization: 'Bearer x' } }, 'oauth.revocation.headers.Authorization'],
      [{ headers: { 'X-Ok': 'a\r\nInjected: 1' } }, 'oauth.revocation.headers.X-Ok'],
    ] as const) {
      const file = `${h.home}/bad.json`;
      (await import('node:fs')).writeFileSync(file, JSON.stringify(provider.definition({ name: 'badrev', oauth: { revocation } })));
      const result = await runCli(['register', file], { env: h.env });
      assert.equal(result.code, 3, result.stderr); // provider_invalid
      assert.match(result.stderr, new RegExp(field.replace(/[.]/g, '\\.')));
    }
  });
});

describe('tokens nested in the token response (Slack\'s authed_user)', () => {
  let provider: JsonProvider;
  let h: OAuthHome;
  before(async () => {
    provider = await startJsonProvider({ nestTokensUnder: 'authed_user' });
    h = await oauthHome({ ...provider.clientEnv, AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
    await h.register(provider.definition({ oauth: { token_response_path: 'authed_user' } }));
  });
  after(async () => {
    await h?.cleanup();
    await provider?.close();
  });

  it('stores the user\'s pair from authed_user, never the bot token beside it, and refreshes it from a flat refresh answer', async () => {
    const login = await runCli(['login', 'jsonprov'], { env: h.env });
    assert.equal(login.code, 0, login.stderr);
    const access = await secret(h, 'access_token');
    const refresh = await secret(h, 'refresh_token');
    assert.equal(provider.topLevelTokens.length, 1);
    assert.notEqual(access, provider.topLevelTokens[0], 'the top-level (bot) token is not the connection\'s');
    assert.equal(provider.isLive(access), true);
    assert.equal(provider.isLive(refresh), true);
    assert.equal(await secret(h, 'scopes'), 'search:read', 'the nested scope, not the bot\'s');
    assert.match(await secret(h, 'token_type'), /^bearer$/i, 'Slack\'s "user" type is sent as Bearer');

    await makeDue(h.home, 'jsonprov');
    const renewed = await secret(h, 'access_token');
    assert.notEqual(renewed, access);
    assert.equal(provider.count('refresh'), 1);
    assert.equal(provider.isLive(renewed), true);
    assert.equal(provider.isLive(refresh), false, 'the rotated refresh token replaced the spent one');
  });
});

describe('the bundled definitions that use these dialects', () => {
  it('hubspot leaves the v1 token endpoint (retired on 2027-02-16) and revokes per RFC 7009; dropbox and slack revoke with the token itself; notion sends Notion-Version', async () => {
    const env = { AUTHSOME_HOME: (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/as-`) };
    const inspect = async (name: string) => (await runCliJson<{ source: string; definition: { oauth: Record<string, unknown>; docs: string } }>(['inspect', name], { env })).json;
    const hubspot = await inspect('hubspot');
    assert.equal(hubspot.source, 'bundled');
    assert.equal(hubspot.definition.oauth.token_url, 'https://api.hubapi.com/oauth/2026-03/token');
    assert.equal(hubspot.definition.oauth.revocation_url, 'https://api.hubapi.com/oauth/2026-03/token/revoke');
    assert.equal(hubspot.definition.oauth.revocation, undefined, 'the RFC 7009 form, as the endpoint documents');
    assert.deepEqual((await inspect('dropbox')).definition.oauth.revocation, { style: 'bearer' });
    assert.equal((await inspect('dropbox')).definition.oauth.revocation_url, 'https://api.dropboxapi.com/2/auth/token/revoke');
    assert.deepEqual((await inspect('slack')).definition.oauth.revocation, { style: 'bearer' });
    assert.equal((await inspect('slack')).definition.oauth.revocation_url, 'https://slack.com/api/auth.revoke');
    // Notion-Version on every request authsome sends Notion (oauth.headers), the revocation included.
    assert.deepEqual((await inspect('notion')).definition.oauth.revocation, { style: 'json' });
    assert.deepEqual((await inspect('notion')).definition.oauth.headers, { 'Notion-Version': '2025-09-03' });
    for (const name of ['hubspot', 'dropbox', 'slack', 'notion']) assert.match((await inspect(name)).definition.docs, /^https:\/\//);
    (await import('node:fs')).rmSync(env.AUTHSOME_HOME, { recursive: true, force: true });
  });
});
