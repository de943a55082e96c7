// Token endpoints that differ from the RFC's happy path, through the real CLI: a JSON request
// body, an answer with no new refresh token (the old one is kept), none with expires_in (the
// provider's default lifetime — never "refresh on every call"), expires_in as a string, and a
// form-encoded answer.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { toRecordTimestamp } from '../../src/util/index.ts';
import { runCli } from '../support/cli.ts';
import { seedConnection } from '../support/make-due.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

let server: Server;
let url = '';
let answer: { type: string; body: string } = { type: 'application/json', body: '{}' };
const requests: Array<{ type: string; body: string }> = [];
let h: OAuthHome;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      requests.push({ type: req.headers['content-type'] ?? '', body });
      res.writeHead(200, { 'content-type': answer.type });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  h = await oauthHome({ QUIRK_CLIENT_ID: 'quirk-client', QUIRK_CLIENT_SECRET: 'quirk-secret-123456' });
});
after(async () => {
  await h?.cleanup();
  server.close();
});

async function provider(name: string, oauth: Record<string, unknown>): Promise<void> {
  await h.register({
    schema_version: 1, name, auth_type: 'oauth2', flow: 'pkce',
    oauth: { authorization_url: 'http://127.0.0.1:9/authorize', token_url: url, ...oauth },
    client: { client_id_env: 'QUIRK_CLIENT_ID', client_secret_env: 'QUIRK_CLIENT_SECRET' },
  });
  // A token from an hour ago that has just expired.
  await seedConnection(h.home, {
    provider: name, access_token: `old-access-${name}`, refresh_token: `old-refresh-${name}`,
    obtained_at: toRecordTimestamp(new Date(Date.now() - 3601_000)), expires_at: toRecordTimestamp(new Date(Date.now() - 1000)),
  });
}

const get = (name: string, field = 'access_token') => runCli(['get', name, '--field', field, ...(field === 'access_token' || field === 'refresh_token' ? ['--show-secret'] : [])], { env: h.env });

describe('provider variety', () => {
  it('sends a JSON body when the provider wants one, and keeps the old refresh token when none comes back', async () => {
    await provider('jsonbody', { token_request_encoding: 'json', default_token_lifetime: 7200 });
    requests.length = 0;
    answer = { type: 'application/json', body: JSON.stringify({ access_token: 'new-access-json', token_type: 'bearer' }) };
    const result = await get('jsonbody');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'new-access-json');
    assert.equal(requests[0]!.type, 'application/json');
    assert.deepEqual(JSON.parse(requests[0]!.body), { grant_type: 'refresh_token', refresh_token: 'old-refresh-jsonbody', client_id: 'quirk-client', client_secret: 'quirk-secret-123456' });
    assert.equal((await get('jsonbody', 'refresh_token')).stdout.trim(), 'old-refresh-jsonbody');
    // No expires_in: the provider's default lifetime, so the next call does not refresh again.
    const expiresIn = (Date.parse((await get('jsonbody', 'expires_at')).stdout.trim()) - Date.now()) / 1000;
    assert.ok(expiresIn > 7100 && expiresIn <= 7200, String(expiresIn));
    assert.equal((await get('jsonbody')).stdout.trim(), 'new-access-json');
    assert.equal(requests.length, 1);
  });

  it('with no expires_in and no default lifetime, the token has no known expiry and is not refreshed on every call', async () => {
    await provider('nolifetime', {});
    requests.length = 0;
    answer = { type: 'application/json', body: JSON.stringify({ access_token: 'new-access-open', refresh_token: 'new-refresh-open', token_type: 'Bearer' }) };
    assert.equal((await get('nolifetime')).stdout.trim(), 'new-access-open');
    assert.equal((await get('nolifetime', 'expires_at')).stdout.trim(), '');
    assert.equal((await get('nolifetime')).stdout.trim(), 'new-access-open');
    assert.equal((await get('nolifetime', 'refresh_token')).stdout.trim(), 'new-refresh-open');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.type, 'application/x-www-form-urlencoded;charset=UTF-8');
  });

  it('reads a form-encoded answer with expires_in as a string', async () => {
    await provider('formanswer', {});
    answer = { type: 'application/x-www-form-urlencoded', body: 'access_token=new-access-form&token_type=bearer&expires_in=3600&scope=read+write' };
    assert.equal((await get('formanswer')).stdout.trim(), 'new-access-form');
    const expiresIn = (Date.parse((await get('formanswer', 'expires_at')).stdout.trim()) - Date.now()) / 1000;
    assert.ok(expiresIn > 3500 && expiresIn <= 3600, String(expiresIn));
    assert.equal((await get('formanswer', 'scopes')).stdout.trim(), 'read write');
    assert.equal((await get('formanswer', 'status')).stdout.trim(), 'connected');
    assert.match((await get('formanswer', 'last_refresh_at')).stdout.trim(), /^\d{4}-\d\d-\d\dT/);
  });
});
