// Providers that bend RFC 6749, answered by a small local server that behaves like them: GitHub's
// HTTP 200 errors and form-encoded bodies, slow_down during device polling, JSON-only token
// endpoints, expires_in as a string, and a token endpoint that answers with an HTML page.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  OAuthTransport, buildClient, pollDeviceCode, requestClientCredentialsToken, requestDeviceCode, resolveServer, toTokenSet, OAuthError,
} from '../../src/oauth/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';

type Handler = (req: IncomingMessage, body: string) => { status?: number; type?: string; body: string };
let server: Server;
let base = '';
let handler: Handler = () => ({ body: '{}' });
const seen: Array<{ path: string; type: string; body: string; at: number }> = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      seen.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body, at: Date.now() });
      const answer = handler(req, body);
      res.writeHead(answer.status ?? 200, { 'content-type': answer.type ?? 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const definition = (oauth: Record<string, unknown> = {}): ProviderDefinition => ({
  schema_version: 1, name: 'quirky', auth_type: 'oauth2', flow: 'device_code',
  oauth: { token_url: `${base}/token`, device_authorization_url: `${base}/device`, ...oauth },
} as ProviderDefinition);

async function setup(oauth: Record<string, unknown> = {}, secret: string | null = null) {
  const def = definition(oauth);
  const transport = new OAuthTransport(def);
  const resolved = await resolveServer(def, {}, transport);
  return { def, transport, resolved, client: buildClient(def, { client_id: 'cid', client_secret: secret }, resolved.as) };
}

describe('GitHub-style device flow', () => {
  it('keeps polling through HTTP 200 errors, slows down by 5 s on slow_down, and reads a form-encoded token', async () => {
    seen.length = 0;
    const answers = [
      { body: JSON.stringify({ error: 'authorization_pending' }) },                 // GitHub: 200, not 400
      { body: JSON.stringify({ error: 'slow_down', interval: 6 }) },
      { type: 'application/x-www-form-urlencoded', body: 'access_token=gho_quirk123456&token_type=bearer&scope=repo' },
    ];
    handler = (req) => req.url === '/device'
      ? { body: JSON.stringify({ device_code: 'dc-1234567', user_code: 'ABCD-1234', verification_uri: 'https://github.test/login/device', expires_in: 60, interval: 1 }) }
      : answers.shift()!;
    const { def, transport, resolved, client } = await setup();
    const code = await requestDeviceCode(def, resolved, client, { scopes: ['repo'] }, transport);
    assert.equal(code.intervalSeconds, 1);
    const response = await pollDeviceCode(def, resolved, client, code, transport, { firstPollDelayMs: 0 });
    assert.equal(response.tokens.access_token, 'gho_quirk123456');
    assert.deepEqual(toTokenSet(response).scopes, ['repo']);
    const polls = seen.filter((s) => s.path === '/token');
    assert.equal(polls.length, 3);
    assert.ok(polls[2]!.at - polls[1]!.at >= 6000, `after slow_down the next poll waits interval + 5 s (waited ${polls[2]!.at - polls[1]!.at} ms)`);
    assert.ok(polls[1]!.at - polls[0]!.at >= 1000);
  });

  it('stops on access_denied sent as HTTP 200, with a clear message', async () => {
    handler = (req) => req.url === '/device'
      ? { body: JSON.stringify({ device_code: 'dc-1234567', user_code: 'ABCD-1234', verification_uri: 'https://github.test/login/device', expires_in: 60 }) }
      : { body: JSON.stringify({ error: 'access_denied', error_description: 'The user has denied your application access.' }) };
    const { def, transport, resolved, client } = await setup();
    const code = await requestDeviceCode(def, resolved, client, { scopes: [] }, transport);
    await assert.rejects(pollDeviceCode(def, resolved, client, code, transport, { firstPollDelayMs: 0 }), (error: OAuthError) => {
      assert.equal(error.error, 'access_denied');
      assert.equal(error.code, 'authentication_failed');
      assert.match(error.message, /the login to quirky was denied/);
      return true;
    });
  });
});

describe('token endpoints', () => {
  it('sends a JSON body to a provider that wants one, and accepts expires_in as a string', async () => {
    seen.length = 0;
    handler = () => ({ body: JSON.stringify({ access_token: 'at-json-123456', token_type: 'Bearer', expires_in: '7200' }) });
    const { def, transport, resolved, client } = await setup({ token_request_encoding: 'json' }, 'secret-json-123456');
    const before = Date.now();
    const response = await requestClientCredentialsToken(def, resolved, client, { scopes: ['a', 'b'] }, transport);
    assert.equal(seen[0]!.type, 'application/json');
    assert.deepEqual(JSON.parse(seen[0]!.body), { grant_type: 'client_credentials', scope: 'a b', client_id: 'cid', client_secret: 'secret-json-123456' });
    const expiresIn = (toTokenSet(response).expires_at!.getTime() - before) / 1000;
    assert.ok(expiresIn > 7190 && expiresIn <= 7201, String(expiresIn));
  });

  it('uses the provider\'s default lifetime when expires_in is missing, never "expires now"', async () => {
    handler = () => ({ body: JSON.stringify({ access_token: 'at-nolife-123456', token_type: 'Bearer' }) });
    const { def, transport, resolved, client } = await setup({ default_token_lifetime: 28800 }, 'secret-123456');
    const tokens = toTokenSet(await requestClientCredentialsToken(def, resolved, client, { scopes: [] }, transport), { defaultLifetime: 28800 });
    assert.ok(Math.abs(tokens.expires_at!.getTime() - Date.now() - 28800_000) < 5000);
    const open = toTokenSet(await requestClientCredentialsToken(def, resolved, client, { scopes: [] }, transport));
    assert.equal(open.expires_at, null);
  });

  it('never logs a secret nested in an answer (Slack puts a user token under authed_user)', async () => {
    handler = () => ({ body: JSON.stringify({ access_token: 'xoxb-top-secret-1234', token_type: 'bot', authed_user: { id: 'U1', access_token: 'xoxp-nested-secret-5678', refresh_token: 'xoxe-nested-refresh-9012' } }) });
    const lines: string[] = [];
    const def = definition();
    const transport = new OAuthTransport(def, { log: (message, fields) => lines.push(message + JSON.stringify(fields ?? {})) });
    const resolved = await resolveServer(def, {}, transport);
    await requestClientCredentialsToken(def, resolved, buildClient(def, { client_id: 'c', client_secret: 'client-secret-123456' }, resolved.as), { scopes: [] }, transport);
    const text = lines.join('\n');
    for (const secret of ['xoxb-top-secret-1234', 'xoxp-nested-secret-5678', 'xoxe-nested-refresh-9012']) assert.ok(!text.includes(secret), `${secret} reached the log`);
    assert.match(text, /"authed_user":\{"id":"U1","access_token":"\[REDACTED\]"/);
  });

  it('reports an HTML answer as what it is, naming the endpoint, status and content type', async () => {
    handler = () => ({ type: 'text/html; charset=utf-8', body: '<html><body>Sign in to continue</body></html>' });
    const { def, transport, resolved, client } = await setup({}, 'secret-123456');
    await assert.rejects(requestClientCredentialsToken(def, resolved, client, { scopes: [] }, transport), (error: OAuthError) => {
      assert.equal(error.error, 'invalid_response');
      assert.match(error.message, /^the token endpoint of quirky gave an answer that is not a valid OAuth response \(HTTP 200, text\/html\)/);
      return true;
    });
  });

  it('reports a closed port as a network failure, naming the reason', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const def = { ...definition(), oauth: { token_url: `http://127.0.0.1:${port}/token` } } as ProviderDefinition;
    const transport = new OAuthTransport(def);
    const resolved = await resolveServer(def, {}, transport);
    await assert.rejects(requestClientCredentialsToken(def, resolved, buildClient(def, { client_id: 'c', client_secret: 's-123456' }), { scopes: [] }, transport), (error: OAuthError) => {
      assert.equal(error.error, 'network_error');
      assert.match(error.message, new RegExp(`^could not reach the token endpoint of quirky: ECONNREFUSED`));
      return true;
    });
  });

  it('refuses plain http:// to anything but loopback', async () => {
    const def = { ...definition(), oauth: { token_url: 'http://auth.example.test/token' } } as ProviderDefinition;
    const transport = new OAuthTransport(def);
    const resolved = await resolveServer(def, {}, transport);
    await assert.rejects(requestClientCredentialsToken(def, resolved, buildClient(def, { client_id: 'c', client_secret: 's-123456' }), { scopes: [] }, transport), /https/i);
  });
});
