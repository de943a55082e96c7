// Issue 16, part 2: `authsome mcp serve`, driven by the SDK's own Client over real stdio, spawning
// the built CLI. Its tools list connections (never a secret), show a status, ask a person to log in
// (a device code approved on the real oidc-provider's page), and send requests to a real HTTPS
// upstream with the credential `run` would add — the answer scrubbed of it, every call audited with
// the client's name. Refusals (a URL no route covers, a provider, host or method outside the
// allowed lists) are tool errors with the reason, and nothing reaches the upstream.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, cleanEnv, runCli } from '../support/cli.ts';
import { approveUserCode, followAuthorizationUrl } from '../support/browser-sim.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { makeOld } from '../support/make-due.ts';
import { ACME_KEY, BETA_KEY, acme, beta, proxyHome } from '../proxy/harness.ts';

const PLACEHOLDER = 'authsome-proxy-managed';

let g: GatedOAuth;
let upstream: HttpsUpstream;
let origin: string;
let serverEnv: Record<string, string>;
const clients: Client[] = [];

/** The SDK's client, connected over stdio to `authsome mcp serve …` (the built CLI). */
async function connect(args: string[] = [], name = 'test-agent'): Promise<Client> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', 'serve', ...args], env: serverEnv, stderr: 'pipe' });
  const client = new Client({ name, version: '1.2.3' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

interface ToolAnswer {
  isError: boolean;
  text: string;
}
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args }) as { isError?: boolean; content: Array<{ type: string; text: string }> };
  return { isError: Boolean(result.isError), text: result.content.map((c) => c.text).join('\n') };
}
const json = (answer: ToolAnswer) => {
  assert.equal(answer.isError, false, answer.text);
  return JSON.parse(answer.text) as Record<string, any>;
};
const auditEntries = () => readFileSync(join(g.h.home, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
const lastMcp = () => auditEntries().filter((e) => e.event === 'mcp').at(-1)!;
const secrets = async () => [ACME_KEY, BETA_KEY, ...(await g.as.issuedTokens())];
const assertNoSecret = async (text: string) => {
  for (const secret of await secrets()) assert.ok(!text.includes(secret), `${secret.slice(0, 6)}… reached the agent`);
};

before(async () => {
  [g, upstream] = await Promise.all([startGatedOAuth(), startHttpsUpstream()]);
  origin = `https://127.0.0.1:${upstream.port}`;
  await g.registerGated({ routes: [{ url: `${origin}/oauth` }] });
  const login = await runCli(['login', 'testas'], { env: g.h.env });
  assert.equal(login.code, 0, login.stderr);
  const h = await proxyHome(upstream, g.h);
  await h.register({ ...acme, routes: [{ url: `${origin}/echo/acme` }, { url: `${origin}/reflect` }] });
  await h.register({ ...beta, routes: [{ url: `${origin}/echo/beta` }] });
  await h.login('acme', ACME_KEY);
  await h.login('beta', BETA_KEY);
  serverEnv = cleanEnv({ ...g.h.env, NODE_EXTRA_CA_CERTS: upstream.caFile, NO_COLOR: '1' });
});
after(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await upstream?.close();
  await g?.close({ checkCanaries: true });
});
beforeEach(() => upstream.reset());

describe('authsome mcp serve: what the agent can see', () => {
  it('lists its tools, and the connections with states, scopes and routes — never a secret', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['connection_status', 'http_request', 'list_connections', 'request_login', 'wait_for_login']);
    const answer = await call(client, 'list_connections');
    const { connections } = json(answer);
    const byProvider = Object.fromEntries(connections.map((c: Record<string, any>) => [c.provider, c]));
    assert.equal(byProvider.acme.status, 'connected');
    assert.deepEqual(byProvider.acme.routes, [`${origin}/echo/acme`, `${origin}/reflect`]);
    assert.equal(byProvider.testas.status, 'connected');
    assert.deepEqual(byProvider.testas.scopes, ['openid', 'email']);
    assert.equal(byProvider.testas.account, 'alice@example.test');
    await assertNoSecret(answer.text);
    const status = await call(client, 'connection_status', { provider: 'testas' });
    assert.equal(json(status).status, 'connected');
    await assertNoSecret(status.text);
    const entry = lastMcp();
    assert.deepEqual([entry.tool, entry.client, entry.provider, entry.status], ['connection_status', 'test-agent', 'testas', 'success']);
  });
});

describe('authsome mcp serve: http_request', () => {
  it('sends the request with the credential run would add, and the echo of it comes back as the placeholder', async () => {
    const client = await connect([], 'echo-agent');
    const answer = await call(client, 'http_request', { method: 'POST', url: `${origin}/echo/acme/v1?x=1`, headers: { 'content-type': 'application/json' }, body: '{"hello":1}' });
    const response = json(answer);
    assert.equal(response.status, 200);
    assert.equal(response.provider, 'acme');
    const seen = upstream.received('/echo/acme').at(-1)!;
    assert.equal(seen.headers['x-api-key'], ACME_KEY, 'the upstream got the real key');
    assert.equal(seen.body, '{"hello":1}');
    const echo = JSON.parse(response.body);
    assert.equal(echo.headers['x-api-key'], PLACEHOLDER, 'the echo the agent reads holds the placeholder');
    assert.equal(response.replaced, 1);
    await assertNoSecret(answer.text);
    const entry = lastMcp();
    assert.deepEqual(
      [entry.tool, entry.client, entry.provider, entry.connection, entry.method, entry.url, entry.http_status, entry.echoes_replaced, entry.status],
      ['http_request', 'echo-agent', 'acme', 'default', 'POST', `${origin}/echo/acme/v1`, 200, 1, 'success'],
    );
    assert.ok(!JSON.stringify(entry).includes(ACME_KEY));
  });

  it('an echo in a response header and an OAuth bearer token are scrubbed too', async () => {
    const client = await connect();
    const reflected = await call(client, 'http_request', { url: `${origin}/reflect?header=1` });
    const response = json(reflected);
    assert.equal(response.headers['x-echo-x-api-key'], PLACEHOLDER);
    assert.equal(JSON.parse(response.body).headers['x-api-key'], PLACEHOLDER);
    const oauth = await call(client, 'http_request', { url: `${origin}/oauth/me` });
    assert.equal(JSON.parse(json(oauth).body).headers.authorization, `Bearer ${PLACEHOLDER}`);
    assert.match(upstream.received('/oauth/me').at(-1)!.headers.authorization!, /^Bearer (?!authsome)/);
    await assertNoSecret(reflected.text + oauth.text);
  });

  it('an old token answered 401 is refreshed once and the request sent again, with the new token scrubbed from the answer', async () => {
    await makeOld(g.h.home, 'testas', 10 * 60_000);
    const old = (await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: g.h.env })).stdout.trim();
    upstream.reject.add(old);
    const tokenPosts = g.gate.requests();
    const client = await connect();
    const answer = await call(client, 'http_request', { url: `${origin}/oauth/again` });
    const response = json(answer);
    assert.equal(response.status, 200);
    assert.equal(g.gate.requests() - tokenPosts, 1, 'one refresh');
    const renewed = (await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: g.h.env })).stdout.trim();
    assert.deepEqual(upstream.received('/oauth/again').map((r) => r.headers.authorization), [`Bearer ${old}`, `Bearer ${renewed}`]);
    assert.equal(JSON.parse(response.body).headers.authorization, `Bearer ${PLACEHOLDER}`);
    await assertNoSecret(answer.text);
    assert.equal(lastMcp().retried, true);
    upstream.reject.clear();
  });

  it('a body over 1 MiB is cut off there, and said to be', async () => {
    const client = await connect();
    const answer = await call(client, 'http_request', { url: `${origin}/reflect?pad=${2 * 1024 * 1024}` });
    const response = json(answer);
    assert.equal(response.status, 200);
    assert.equal(response.truncated, true);
    assert.equal(response.body.length, 1024 * 1024);
  });

  it('a URL no connection\'s route covers is refused with the reason, and nothing is sent', async () => {
    const client = await connect();
    const answer = await call(client, 'http_request', { url: `${origin}/echo/nobody` });
    assert.equal(answer.isError, true);
    assert.match(answer.text, /^refused: no connection's route covers https:\/\/127\.0\.0\.1:\d+\/echo\/nobody: no provider's route matches/);
    const plain = await call(client, 'http_request', { url: `http://127.0.0.1:${upstream.plainPort}/echo/acme/x` });
    assert.match(plain.text, /^refused: .*plain http:\/\/ requests are forwarded untouched/);
    assert.equal(upstream.requests.length, 0);
    assert.deepEqual([lastMcp().status, lastMcp().tool], ['refused', 'http_request']);
  });

  it('--allow-provider: a provider outside the list is refused by name, for requests, status and logins', async () => {
    const client = await connect(['--allow-provider', 'acme']);
    const request = await call(client, 'http_request', { url: `${origin}/echo/beta/x` });
    assert.equal(request.isError, true);
    assert.match(request.text, /^refused: https:\/\/127\.0\.0\.1:\d+\/echo\/beta\/x is covered by beta \(default\), and the provider beta is not allowed \(--allow-provider acme\)/);
    assert.equal(upstream.requests.length, 0);
    const status = await call(client, 'connection_status', { provider: 'beta' });
    assert.match(status.text, /^refused: the provider beta is not allowed \(--allow-provider acme\)/);
    const login = await call(client, 'request_login', { provider: 'testas' });
    assert.match(login.text, /^refused: the provider testas is not allowed/);
    const { connections } = json(await call(client, 'list_connections'));
    assert.deepEqual(connections.map((c: Record<string, unknown>) => c.provider), ['acme']);
    assert.equal(json(await call(client, 'http_request', { url: `${origin}/echo/acme/ok` })).status, 200);
  });

  it('--allow-host and --allow-method: a request outside them is refused before any route is looked at', async () => {
    const client = await connect(['--allow-host', 'api.example.test', '--allow-method', 'GET']);
    const host = await call(client, 'http_request', { url: `${origin}/echo/acme/x` });
    assert.match(host.text, /^refused: the host 127\.0\.0\.1 is not allowed \(--allow-host api\.example\.test\)/);
    const method = await call(client, 'http_request', { method: 'DELETE', url: 'https://api.example.test/v1' });
    assert.match(method.text, /^refused: the method DELETE is not allowed \(--allow-method GET\)/);
    assert.equal(upstream.requests.length, 0);
    const entry = lastMcp();
    assert.deepEqual([entry.status, entry.method, entry.reason], ['refused', 'DELETE', 'the method DELETE is not allowed (--allow-method GET)']);
  });

  it('a bad allow list is a usage error before the server starts', async () => {
    const result = await runCli(['mcp', 'serve', '--allow-method', 'GE T'], { env: g.h.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--allow-method "GE T" is not an HTTP method/);
  });
});

describe('authsome mcp serve: logins', () => {
  it('request_login answers the device code for the person, wait_for_login waits for the approval; no credential reaches the agent', async () => {
    const client = await connect([], 'login-agent');
    const asked = await call(client, 'request_login', { provider: 'testas', connection: 'agent', flow: 'device_code' });
    const pending = json(asked);
    assert.equal(pending.status, 'pending');
    assert.match(pending.next, /then call wait_for_login/);
    // The same request again joins the login under way: the same code.
    assert.equal(json(await call(client, 'request_login', { provider: 'testas', connection: 'agent', flow: 'device_code' })).user_code, pending.user_code);
    const early = json(await call(client, 'wait_for_login', { provider: 'testas', connection: 'agent', timeout_seconds: 1 }));
    assert.equal(early.status, 'pending');
    await approveUserCode(pending.verification_uri, pending.user_code);
    const done = await call(client, 'wait_for_login', { provider: 'testas', connection: 'agent', timeout_seconds: 60 });
    assert.deepEqual(json(done), { status: 'connected', provider: 'testas', connection: 'agent', account: 'alice@example.test', flow: 'device_code' });
    await assertNoSecret(asked.text + done.text);
    const stored = await runCli(['get', 'testas', '--connection', 'agent', '--field', 'status'], { env: g.h.env });
    assert.equal(stored.stdout.trim(), 'connected');
    const entry = lastMcp();
    assert.deepEqual([entry.tool, entry.client, entry.outcome], ['wait_for_login', 'login-agent', 'connected']);
    // Already connected: nothing is started.
    assert.equal(json(await call(client, 'request_login', { provider: 'testas', connection: 'agent' })).status, 'connected');
  });

  it('a browser provider: request_login answers the start link for the person, who signs in; wait_for_login sees it connected', async () => {
    const client = await connect([], 'browser-agent');
    const asked = await call(client, 'request_login', { provider: 'testas', connection: 'browser' });
    const pending = json(asked);
    assert.equal(pending.status, 'pending');
    assert.match(pending.login_url, /^http:\/\/127\.0\.0\.1:\d+\/auth\/start\//, 'the daemon\'s start link, which binds the login to the browser that opens it');
    assert.match(pending.next, /open http:\/\/127\.0\.0\.1:\d+\/auth\/start\/\S+ in their browser on this computer and sign in; then call wait_for_login/);
    // The person opens it (a browser following every redirect, as oidc-provider's auto-interactions allow).
    const page = await followAuthorizationUrl(pending.login_url);
    assert.equal(page.status, 200, page.html.slice(0, 300));
    const done = await call(client, 'wait_for_login', { provider: 'testas', connection: 'browser', timeout_seconds: 60 });
    assert.deepEqual(json(done), { status: 'connected', provider: 'testas', connection: 'browser', account: 'alice@example.test', flow: 'pkce' });
    await assertNoSecret(asked.text + done.text);
    assert.equal((await runCli(['get', 'testas', '--connection', 'browser', '--field', 'status'], { env: g.h.env })).stdout.trim(), 'connected');
  });

  it('an API-key provider is refused: a person enters the key', async () => {
    const client = await connect();
    const answer = await call(client, 'request_login', { provider: 'acme', connection: 'second' });
    assert.equal(answer.isError, true);
    assert.match(answer.text, /^refused: acme takes an API key, which a person enters: ask them to run `authsome login acme --connection second`/);
  });
});
