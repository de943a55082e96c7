// A provider that speaks JSON everywhere (shared/contract/004), through the built CLI against the
// fake in test/support/json-provider.ts, which refuses form bodies: the authorization code is
// exchanged at token_url, refresh grants go to the definition's refresh_url, the rotated pair is
// stored, and logout revokes with exactly {"token","client_id","client_secret"} as JSON.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { OAuthTransport, buildClient, resolveServer, revokeToken } from '../../src/oauth/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { makeDue, seedConnection } from '../support/make-due.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

let provider: JsonProvider;
let h: OAuthHome;

before(async () => {
  provider = await startJsonProvider();
  h = await oauthHome(provider.clientEnv);
  await h.register(provider.definition());
});
after(async () => {
  await h?.cleanup();
  await provider?.close();
});

const secret = async (field: string, connection = 'default') => {
  const result = await runCli(['get', 'jsonprov', '--connection', connection, '--field', field, '--show-secret'], { env: h.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};

describe('a JSON provider with a separate refresh endpoint', () => {
  it('logs in through token_url, refreshes at refresh_url in JSON, and stores the rotated pair', async () => {
    provider.clearRequests();
    const login = await runCli(['login', 'jsonprov'], { env: h.env });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(provider.count('token'), 1, 'the authorization code is exchanged at token_url');
    assert.equal(provider.count('refresh'), 0);
    assert.equal(provider.lastRequest('token')!.contentType, 'application/json');
    assert.equal(provider.lastRequest('token')!.body!.grant_type, 'authorization_code');
    const firstAccess = await secret('access_token');
    const firstRefresh = await secret('refresh_token');

    await makeDue(h.home, 'jsonprov');
    const renewed = await secret('access_token');
    assert.notEqual(renewed, firstAccess);
    assert.equal(provider.count('token'), 1, 'no refresh grant went to token_url');
    assert.equal(provider.count('refresh'), 1);
    const request = provider.lastRequest('refresh')!;
    assert.equal(request.contentType, 'application/json');
    assert.equal(request.status, 200);
    assert.deepEqual(request.body, { grant_type: 'refresh_token', refresh_token: firstRefresh, client_id: provider.clientId, client_secret: provider.clientSecret });
    // Single use: the old refresh token is spent, and the stored one is the rotated one.
    const storedRefresh = await secret('refresh_token');
    assert.notEqual(storedRefresh, firstRefresh);
    assert.equal(provider.isLive(firstRefresh), false);
    assert.equal(provider.isLive(storedRefresh), true);
    assert.equal(await secret('status'), 'connected');
  });

  it('`authsome refresh` goes to refresh_url too, and --verbose names the endpoint it used', async () => {
    await seedConnection(h.home, { provider: 'jsonprov', connection_name: 'seeded', ...provider.seedRecord() });
    const before = await secret('refresh_token', 'seeded');
    provider.clearRequests();
    const result = await runCli(['refresh', 'jsonprov', '--connection', 'seeded', '--verbose'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(provider.count('refresh'), 1);
    assert.equal(provider.count('token'), 0);
    assert.match(result.stderr, new RegExp(`refresh jsonprov \\(seeded\\): generation \\d+, holder \\S+, to ${provider.urls.refresh.replace(/[.]/g, '\\.')}`));
    assert.equal(provider.lastRequest('refresh')!.body!.refresh_token, before);
    const after = await secret('refresh_token', 'seeded');
    assert.notEqual(after, before);
    assert.equal(provider.isLive(after), true);
  });

  it('logout revokes at the revocation endpoint with exactly {token, client_id, client_secret} as JSON', async () => {
    const refreshToken = await secret('refresh_token');
    provider.clearRequests();
    const result = await runCli(['logout', 'jsonprov', '--connection', 'default'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Removed jsonprov \(default\) from this computer\.\njsonprov revoked the token\./);
    assert.equal(provider.count('revoke'), 1);
    const request = provider.lastRequest('revoke')!;
    assert.equal(request.contentType, 'application/json');
    assert.equal(request.status, 200);
    assert.deepEqual(request.body, { token: refreshToken, client_id: provider.clientId, client_secret: provider.clientSecret });
    assert.equal(provider.isLive(refreshToken), false, 'the grant is gone at the provider');
  });

  it('a revocation the provider refuses is reported, and the connection is still removed', async () => {
    await seedConnection(h.home, { provider: 'jsonprov', connection_name: 'refused', ...provider.seedRecord() });
    provider.failWith('revoke', 'invalid_client');
    const { code, json } = await runCliJson<{ remote: Record<string, { status: string; error?: string }> }>(['logout', 'jsonprov', '--connection', 'refused'], { env: h.env });
    assert.equal(code, 0);
    assert.equal(json.remote.refused!.status, 'failed');
    assert.match(json.remote.refused!.error!, /the revocation endpoint of jsonprov answered invalid_client/);
    const gone = await runCli(['get', 'jsonprov', '--connection', 'refused'], { env: h.env });
    assert.equal(gone.code, 5);
  });
});

describe('RFC 7009 §2.2 success', () => {
  let server: Server;
  let base = '';
  before(async () => {
    server = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('takes any 2xx (a 204 No Content) as revoked', async () => {
    const definition = { schema_version: 1, name: 'nocontent', auth_type: 'oauth2', flow: 'pkce', oauth: { authorization_url: `${base}/a`, token_url: `${base}/t`, revocation_url: `${base}/r` } } as ProviderDefinition;
    const transport = new OAuthTransport(definition);
    const resolved = await resolveServer(definition, {}, transport);
    await revokeToken(definition, resolved, buildClient(definition, { client_id: 'c', client_secret: 's' }, resolved.as), 'token-123', 'refresh_token', transport);
  });
});
