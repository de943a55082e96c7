// `authsome mcp connect`: the SDK's own Client (StdioClientTransport spawning the built CLI) ↔ the
// bridge ↔ the SDK's own McpServer over Streamable HTTP, behind a bearer check against the test
// authorization server (oidc-provider). Login from the URL alone (each RFC 9728 discovery variant of
// the MCP authorization spec 2025-11-25), relaying both ways, step-up, a server restart, tokens that
// fall due or are refused mid-session, two clients sharing one login and one refresh, and a token
// that never reaches the client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, CreateMessageRequestSchema, ProgressNotificationSchema, LATEST_PROTOCOL_VERSION, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { CLI, cleanEnv, collectOutput, runCli, runCliJson } from '../support/cli.ts';
import { makeDue, makeOld } from '../support/make-due.ts';
import { startMcpServer, type Discovery, type McpTestServer } from '../support/mcp-server.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

let as: AuthServer;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  as = await startAuthServer({ loopbackResources: true });
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await as?.close();
});

async function mcpServer(discovery: Discovery = 'challenge'): Promise<McpTestServer> {
  const server = await startMcpServer({ discovery, introspect: (token) => as.tokenStatus(token) });
  server.attach(as.issuer);
  cleanups.push(() => server.close());
  return server;
}

async function home(): Promise<OAuthHome> {
  const h = await oauthHome({ AUTHSOME_TESTING: '1' });
  cleanups.push(() => h.cleanup());
  return h;
}

interface Connected {
  client: Client;
  stderr(): string;
  /** Waits (up to 20 s, for a loaded machine) until the bridge's stderr after `from` matches. */
  logged(pattern: RegExp, from: number): Promise<void>;
  close(): Promise<void>;
}

const CHANGED = /mcp: credential changed in the store/;

/** The SDK's client, speaking stdio to `authsome mcp connect <target>`; it answers sampling requests with "yes". */
async function connect(h: OAuthHome, target: string, extraArgs: string[] = []): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', 'connect', target, '--verbose', ...extraArgs],
    env: cleanEnv({ NO_COLOR: '1', ...h.env }),
    stderr: 'pipe',
  });
  let stderr = '';
  const waiters = new Set<() => void>();
  transport.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const waiter of waiters) waiter();
  });
  const logged = (pattern: RegExp, from: number) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!pattern.test(stderr.slice(from))) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`the bridge never logged ${pattern}; stderr: ${stderr.slice(from)}`));
    }, 20_000);
    waiters.add(check);
    check();
  });
  const client = new Client({ name: 'bridge-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: 'assistant', content: { type: 'text', text: 'yes' }, model: 'test' }));
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`connect failed: ${(error as Error).message}\nstderr: ${stderr}`);
  }
  const close = async () => void (await client.close().catch(() => undefined));
  cleanups.push(close);
  return { client, stderr: () => stderr, logged, close };
}

const text = (result: unknown) => ((result as { content: Array<{ text: string }> }).content[0]!.text);
const providerOf = (server: McpTestServer) => `127.0.0.1-${new URL(server.url).port}`;

async function token(h: OAuthHome, provider: string): Promise<string> {
  const result = await runCli(['get', provider, '--field', 'access_token', '--show-secret'], { env: h.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

describe('mcp connect', () => {
  it('logs in from the URL alone (metadata from the WWW-Authenticate resource_metadata, scope from its challenge) and relays requests, progress, a sampling request and a list_changed notification', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    await as.resetCounts();
    const { client, stderr } = await connect(h, server.url);
    // The login's start link is on stderr (stdout belongs to the MCP client).
    assert.match(stderr(), /open this URL in a browser:\n\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\/start\//);
    assert.equal((await as.counts()).token.authorization_code, 1);

    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((tool) => tool.name).sort(), ['admin', 'ask', 'echo', 'headers', 'progress', 'root']);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'hello through the bridge' } })), 'hello through the bridge');

    // Progress notifications on the request's SSE stream, in order before the result. (Recorded by a
    // notification handler: the SDK client's own onprogress drops those that arrive in the same stdio
    // chunk as the result, since it runs notification handlers a microtask late.)
    const progress: number[] = [];
    client.setNotificationHandler(ProgressNotificationSchema, async (notification) => void progress.push(notification.params.progress));
    const result = await client.request({ method: 'tools/call', params: { name: 'progress', arguments: { steps: 3 }, _meta: { progressToken: 'p1' } } }, CallToolResultSchema);
    assert.equal(text(result), 'done 3');
    assert.deepEqual(progress, [1, 2, 3]);

    // A request from the server to the client (sampling), answered through the bridge.
    assert.equal(text(await client.callTool({ name: 'ask', arguments: { question: 'ok?' } })), 'client said: yes');

    // A notification on the standalone SSE stream (GET), outside any request.
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, async () => resolve()));
    const stream = server.seen.some((seen) => seen.method === 'GET' && seen.status === 200) ? Promise.resolve() : server.nextStream();
    await stream;
    server.toolListChanged();
    await changed;

    // Every request carried the broker's token, and after initialize the negotiated protocol version and the session.
    const posts = server.seen.filter((seen) => seen.method === 'POST' && seen.status !== 401);
    assert.ok(posts.every((seen) => seen.authorization?.startsWith('Bearer ')));
    assert.ok(posts.slice(1).every((seen) => seen.protocolVersion === LATEST_PROTOCOL_VERSION && seen.sessionId), JSON.stringify(posts));
    // Scopes from the challenge's scope="mcp:read mcp:write", not the metadata's scopes_supported (which adds mcp:admin).
    const { json } = await runCliJson<{ scopes: string[] }>(['get', providerOf(server)], { env: h.env });
    assert.deepEqual(json.scopes.sort(), ['mcp:read', 'mcp:write']);
  });

  for (const discovery of ['path', 'root'] as const) {
    it(`finds the metadata at the ${discovery === 'path' ? 'path-inserted' : 'root'} well-known URL when the challenge names none`, async () => {
      const h = await home();
      const server = await mcpServer(discovery);
      const { client } = await connect(h, server.url);
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: discovery } })), discovery);
      const { json } = await runCliJson<{ scopes: string[] | null }>(['get', providerOf(server)], { env: h.env });
      // path: the metadata's scopes_supported; root: the challenge's scope (the metadata lists none).
      assert.deepEqual([...(json.scopes ?? [])].sort(), discovery === 'path' ? ['mcp:read', 'mcp:write'] : ['mcp:read']);
      const { json: definition } = await runCliJson<{ definition: { oauth: { resource: string } } }>(['inspect', providerOf(server)], { env: h.env });
      assert.equal(definition.definition.oauth.resource, server.resource);
    });
  }

  it('finds an issuer with a path at its OpenID Connect path-inserted metadata when RFC 8414 has none (the spec\'s second URL)', async () => {
    const h = await home();
    const server = await mcpServer('path');
    // An issuer at /tenant whose only document is /.well-known/openid-configuration/tenant; its endpoints are the test server's.
    const metadataServer = http.createServer((req, res) => {
      const issuer = `http://127.0.0.1:${(metadataServer.address() as { port: number }).port}/tenant`;
      if (req.url !== '/.well-known/openid-configuration/tenant') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        issuer, authorization_endpoint: `${as.issuer}/auth`, token_endpoint: `${as.issuer}/token`, registration_endpoint: `${as.issuer}/reg`,
        response_types_supported: ['code'], code_challenge_methods_supported: ['S256'],
      }));
    });
    await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => metadataServer.close(resolve)));
    const tenant = `http://127.0.0.1:${(metadataServer.address() as { port: number }).port}/tenant`;
    server.attach(tenant);
    const result = await runCli(['login', server.url, '--verbose'], { env: h.env });
    const asked = [...result.stderr.matchAll(/oauth ← (\d+) GET (\S+\/\.well-known\/\S+)/g)].map(([, status, url]) => `${status} ${new URL(url!).pathname}`);
    assert.ok(asked.includes('404 /.well-known/oauth-authorization-server/tenant'), asked.join('\n'));
    assert.ok(asked.includes('200 /.well-known/openid-configuration/tenant'), asked.join('\n'));
    assert.ok(asked.indexOf('404 /.well-known/oauth-authorization-server/tenant') < asked.indexOf('200 /.well-known/openid-configuration/tenant'));
    const { json } = await runCliJson<{ definition: { oauth: { issuer: string; token_url: string } } }>(['inspect', providerOf(server)], { env: h.env });
    assert.equal(json.definition.oauth.issuer, tenant);
    assert.equal(json.definition.oauth.token_url, `${as.issuer}/token`);
  });

  it('asks for no scope when neither the challenge nor the metadata names one', async () => {
    const h = await home();
    const server = await startMcpServer({ discovery: 'root', noScopes: true, introspect: (value) => as.tokenStatus(value) });
    server.attach(as.issuer);
    cleanups.push(() => server.close());
    const result = await runCli(['login', server.url, '--verbose'], { env: h.env });
    const [request] = /authorization request: (\S+)/.exec(result.stderr) ?? [];
    assert.ok(request, result.stderr);
    const params = new URL(request.slice('authorization request: '.length)).searchParams;
    assert.equal(params.get('scope'), null);
    assert.equal(params.get('resource'), server.resource);
    // (The test authorization server, oidc-provider, grants nothing to a request that names no scope.)
  });

  it('steps up on 403 insufficient_scope with one new login, and gives up after one step-up for a scope the server never grants', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    const { client, stderr } = await connect(h, server.url);
    await as.resetCounts();
    assert.equal(text(await client.callTool({ name: 'admin', arguments: {} })), 'admin ok');
    assert.equal((await as.counts()).token.authorization_code, 1);
    assert.match(stderr(), /asks for more access \(scope mcp:read mcp:write mcp:admin\); logging in again/);
    const { json } = await runCliJson<{ scopes: string[] }>(['get', providerOf(server)], { env: h.env });
    assert.deepEqual(json.scopes.sort(), ['mcp:admin', 'mcp:read', 'mcp:write']);

    // mcp:root is never granted: one step-up is tried, then the 403 reaches the client, and asking again logs in no more.
    await assert.rejects(client.callTool({ name: 'root', arguments: {} }), /403/);
    assert.equal((await as.counts()).token.authorization_code, 2);
    await assert.rejects(client.callTool({ name: 'root', arguments: {} }), /403/);
    assert.equal((await as.counts()).token.authorization_code, 2);
    // The session still works.
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'still here' } })), 'still here');
  });

  it('carries on through a server restart: a new session is started and the client sees nothing', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    const { client } = await connect(h, server.url);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'before' } })), 'before');
    const oldSession = server.seen.at(-1)!.sessionId;
    await server.restart();
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'after');
    assert.ok(server.seen.some((seen) => seen.sessionId === oldSession && seen.status === 404), 'the old session was refused');
    const last = server.seen.at(-1)!;
    assert.ok(last.sessionId && last.sessionId !== oldSession);
    assert.equal(last.protocolVersion, LATEST_PROTOCOL_VERSION);
  });

  it('a token that falls due mid-session is refreshed once before the next request; one the server refuses is refreshed once and the request retried', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    const provider = providerOf(server);
    const { client, stderr, logged } = await connect(h, server.url);
    const first = await token(h, provider);
    await as.resetCounts();

    // The bridge holds the token until it falls due; the store's change feed tells it of the change.
    let mark = stderr().length;
    await makeDue(h.home, provider);
    await logged(CHANGED, mark);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'due' } })), 'due');
    assert.deepEqual((await as.counts()).token, { refresh_token: 1 });
    const second = await token(h, provider);
    assert.notEqual(second, first);
    assert.equal(server.seen.at(-1)!.authorization, `Bearer ${second}`);

    // The server refuses a token in use for a while (revoked, expired early): one refresh, one retry.
    mark = stderr().length;
    await makeOld(h.home, provider);
    await logged(CHANGED, mark);
    server.refuse(second);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'refused' } })), 'refused');
    assert.deepEqual((await as.counts()).token, { refresh_token: 2 });
    const third = await token(h, provider);
    assert.equal(server.seen.at(-1)!.authorization, `Bearer ${third}`);

    // A token under a minute old that is refused is not refreshed: the 401 reaches the client.
    server.refuse(third);
    await assert.rejects(client.callTool({ name: 'echo', arguments: { text: 'young' } }), /401/);
    assert.deepEqual((await as.counts()).token, { refresh_token: 2 });
  });

  it('two clients at once share one login and one refresh', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    const provider = providerOf(server);
    const one = await connect(h, server.url);
    await as.resetCounts();
    const two = await connect(h, server.url);
    assert.deepEqual((await as.counts()).token, {}, 'the second client logged in again');
    const marks = [one.stderr().length, two.stderr().length];
    await makeDue(h.home, provider);
    await Promise.all([one.logged(CHANGED, marks[0]!), two.logged(CHANGED, marks[1]!)]);
    const [a, b] = await Promise.all([
      one.client.callTool({ name: 'echo', arguments: { text: 'one' } }),
      two.client.callTool({ name: 'echo', arguments: { text: 'two' } }),
    ]);
    assert.deepEqual([text(a), text(b)], ['one', 'two']);
    assert.deepEqual((await as.counts()).token, { refresh_token: 1 });
    const fresh = await token(h, provider);
    assert.deepEqual(server.seen.slice(-2).map((seen) => seen.authorization), [`Bearer ${fresh}`, `Bearer ${fresh}`]);
  });

  it('never writes the token to stdout (or stderr with --verbose), and closes cleanly on stdin EOF and on SIGTERM', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    await connect(h, server.url).then((c) => c.close()); // logs in
    for (const ending of ['eof', 'SIGTERM'] as const) {
      const child = spawn(process.execPath, [CLI, 'mcp', 'connect', server.url, '--verbose'], { env: cleanEnv({ NO_COLOR: '1', ...h.env }), stdio: ['pipe', 'pipe', 'pipe'] });
      const output = collectOutput(child);
      let stdout = '';
      const lines: Array<Record<string, unknown>> = [];
      const waiters = new Map<unknown, (message: Record<string, unknown>) => void>();
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        for (const line of chunk.split('\n').filter(Boolean)) {
          const message = JSON.parse(line) as Record<string, unknown>;
          lines.push(message);
          waiters.get(message.id)?.(message);
        }
      });
      const request = (id: number, method: string, params: unknown) => {
        const answer = new Promise<Record<string, unknown>>((resolve) => waiters.set(id, resolve));
        child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
        return answer;
      };
      const init = await request(1, 'initialize', { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
      assert.equal((init.result as { protocolVersion: string }).protocolVersion, LATEST_PROTOCOL_VERSION);
      child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
      const call = await request(2, 'tools/call', { name: 'echo', arguments: { text: 'raw' } });
      assert.equal(text(call.result), 'raw');
      // A server that quotes the request's headers back: the token is replaced before the client sees it.
      const quoted = JSON.parse(text((await request(3, 'tools/call', { name: 'headers', arguments: {} })).result)) as Record<string, string>;
      assert.equal(quoted.authorization, 'Bearer [REDACTED]');
      const deletes = server.seen.filter((seen) => seen.method === 'DELETE').length;
      if (ending === 'eof') child.stdin.end();
      else child.kill('SIGTERM');
      const done = await output;
      assert.equal(done.code, 0, done.stderr);
      // MCP transports: a client that is done ends its session with DELETE.
      assert.equal(server.seen.filter((seen) => seen.method === 'DELETE').length, deletes + 1);
      for (const issued of await as.issuedTokens()) {
        assert.ok(!stdout.includes(issued), 'a token reached the client');
        assert.ok(!done.stderr.includes(issued), 'a token reached stderr');
      }
      assert.match(done.stderr, /mcp: closing/);
    }
    await assertNoTokenIn([join(h.home, 'audit.log'), join(h.home, 'logs')], await as.issuedTokens());
    // Each session leaves one audit entry: the server, the connection and counts.
    const entries = readFileSync(join(h.home, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.event === 'mcp_connect');
    assert.deepEqual(entries.slice(-2).map(({ url, provider, connection, messages_to_server, messages_to_client, secrets_replaced, refused, new_sessions, refreshes_after_401, step_ups, ended_by }) =>
      ({ url, provider, connection, messages_to_server, messages_to_client, secrets_replaced, refused, new_sessions, refreshes_after_401, step_ups, ended_by })), ['the client closed stdin', 'SIGTERM'].map((ended_by) => ({
      url: server.url, provider: providerOf(server), connection: 'default', messages_to_server: 4, messages_to_client: 3, secrets_replaced: 1, refused: 0, new_sessions: 0, refreshes_after_401: 0, step_ups: 0, ended_by,
    })));
  });

  it('connects by provider name with a pre-registered client (a provider file naming the server as its resource), registering none', async () => {
    const h = await home();
    const server = await mcpServer('path');
    await h.register({
      schema_version: 1, name: 'premcp', display_name: 'Pre-registered MCP', auth_type: 'oauth2', flow: 'pkce',
      oauth: { issuer: as.issuer, resource: server.url, scopes: ['mcp:read'] },
      client: { client_id_env: 'TESTAS_CLIENT_ID' },
    });
    await as.resetCounts();
    const { client } = await connect(h, 'premcp');
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'by name' } })), 'by name');
    assert.equal((await as.counts()).registration, 0, 'no client was registered');
    const { json } = await runCliJson<{ client_id: string; scopes: string[] }>(['get', 'premcp'], { env: h.env });
    assert.deepEqual(json.scopes, ['mcp:read']);
  });

  it('authenticates at the token endpoint with the method the server registered the client with (RFC 7591 §3.2.1), at login and at refresh', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    await as.setRegistrationAuthMethod('client_secret_post');
    try {
      await as.resetCounts();
      const { client, stderr, logged } = await connect(h, server.url);
      assert.deepEqual((await as.counts()).tokenAuth, { client_secret_post: 1 });
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'post' } })), 'post');
      await as.resetCounts();
      const mark = stderr().length;
      await makeDue(h.home, providerOf(server));
      await logged(CHANGED, mark);
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'refreshed' } })), 'refreshed');
      assert.deepEqual((await as.counts()).token, { refresh_token: 1 });
      assert.deepEqual((await as.counts()).tokenAuth, { client_secret_post: 1 });
    } finally {
      await as.setRegistrationAuthMethod(null);
    }
  });

  it('with --no-login, an unknown server is refused with the command to run', async () => {
    const h = await home();
    const server = await mcpServer('challenge');
    const result = await runCli(['mcp', 'connect', server.url, '--no-login'], { env: h.env });
    assert.equal(result.code, 5);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`Log in first: authsome login ${server.url.replaceAll('.', '\\.')}`));
  });

  it('refuses a plain http:// server that is not on this machine before anything is sent', async () => {
    const h = await home();
    const result = await runCli(['mcp', 'connect', 'http://mcp.example.test/mcp'], { env: h.env });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /refusing to send a token to http:\/\/mcp\.example\.test: only https:\/\/ \(or http:\/\/ on this machine\) carries one/);
    assert.match(result.stderr, /authsome mcp connect https:\/\/mcp\.example\.test\/mcp/);
  });
});
