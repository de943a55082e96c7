// A remote MCP server for the bridge tests: the SDK's own McpServer over its
// StreamableHTTPServerTransport (one per session), behind a bearer check against the test
// authorization server (oidc-provider's own store, through its introspection control route), with
// RFC 9728 metadata published the way one of the MCP spec's discovery variants says.
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import type { TokenStatus } from './auth-server.ts';

/**
 * Where the client finds the metadata (MCP 2025-11-25 "Protected Resource Metadata Discovery"):
 * - challenge: only at a URL the 401's WWW-Authenticate `resource_metadata` names; the challenge
 *   also names `scope="mcp:read mcp:write"` while the metadata lists mcp:admin too;
 * - path: at /.well-known/oauth-protected-resource/mcp, the 401 names nothing;
 * - root: at /.well-known/oauth-protected-resource, about the origin, with no scopes_supported;
 *   the 401 names `scope="mcp:read"` (none with `noScopes`).
 */
export type Discovery = 'challenge' | 'path' | 'root';

export interface McpTestServerOptions {
  discovery?: Discovery;
  /** Asks the authorization server about a token (AuthServer.tokenStatus). */
  introspect: (token: string) => Promise<TokenStatus>;
  /** Remember a token's introspection for good (the benchmark: the check costs the same both ways). */
  cacheTokens?: boolean;
  /** root only: the 401 names no scope either, so nothing says which scopes to ask for. */
  noScopes?: boolean;
}

export interface SeenRequest {
  method: string;
  authorization: string | undefined;
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  status: number;
}

export interface McpTestServer {
  url: string;
  origin: string;
  /** The RFC 8707 resource the metadata names (the URL, or the origin for `root`). */
  resource: string;
  /** The authorization server named in the metadata. */
  attach(issuer: string): void;
  /** Every HTTP request to the MCP endpoint, in order. */
  readonly seen: SeenRequest[];
  /** Stops and starts again on the same port with no sessions: a server restart. */
  restart(): Promise<void>;
  /** Sends notifications/tools/list_changed on every open session's standalone SSE stream. */
  toolListChanged(): void;
  /** Resolves when the next standalone SSE stream (a GET) is open: server notifications can go out on it. */
  nextStream(): Promise<void>;
  /** Tokens the endpoint refuses with 401 from now on (as if expired or revoked). */
  refuse(token: string): void;
  close(): Promise<void>;
}

/** Which tool needs which scope beyond the token's audience: a 403 insufficient_scope otherwise. */
const TOOL_SCOPES: Record<string, string> = { admin: 'mcp:admin', root: 'mcp:root' };

function buildServer(): McpServer {
  const server = new McpServer({ name: 'authsome-test-mcp', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  server.registerTool('echo', { description: 'returns its text', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.registerTool('progress', { description: 'reports progress on the request stream, then answers', inputSchema: { steps: z.number() } }, async ({ steps }, extra) => {
    const token = extra._meta?.progressToken;
    for (let step = 1; step <= steps; step++) {
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: step, total: steps, message: `step ${step}` } });
    }
    return { content: [{ type: 'text', text: `done ${steps}` }] };
  });
  server.registerTool('ask', { description: 'asks the client to sample (a server-initiated request)', inputSchema: { question: z.string() } }, async ({ question }) => {
    const answer = await server.server.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 10 });
    return { content: [{ type: 'text', text: `client said: ${answer.content.type === 'text' ? answer.content.text : '?'}` }] };
  });
  server.registerTool('headers', { description: 'quotes the request headers back (an echo a careless server might have)' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify(extra.requestInfo?.headers ?? {}) }],
  }));
  server.registerTool('admin', { description: 'needs mcp:admin' }, async () => ({ content: [{ type: 'text', text: 'admin ok' }] }));
  server.registerTool('root', { description: 'needs mcp:root, which nobody is granted' }, async () => ({ content: [{ type: 'text', text: 'root ok' }] }));
  return server;
}

export async function startMcpServer(options: McpTestServerOptions): Promise<McpTestServer> {
  const discovery = options.discovery ?? 'challenge';
  let issuer = '';
  let sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  const seen: SeenRequest[] = [];
  const refused = new Set<string>();
  const streamWaiters: Array<() => void> = [];
  const cache = new Map<string, TokenStatus>();
  let origin = '';
  let url = '';
  let resource = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const metadata = () => ({
    resource,
    authorization_servers: [issuer],
    ...(discovery === 'root' ? {} : { scopes_supported: discovery === 'challenge' ? ['mcp:read', 'mcp:write', 'mcp:admin'] : ['mcp:read', 'mcp:write'] }),
    bearer_methods_supported: ['header'],
  });
  const challenge = (extra = '') => {
    const parts = ['Bearer realm="mcp"'];
    if (discovery === 'challenge') parts.push(`resource_metadata="${origin}/meta/prm"`, 'scope="mcp:read mcp:write"');
    if (discovery === 'root' && !options.noScopes) parts.push('scope="mcp:read"');
    return parts.join(', ') + extra;
  };

  const introspect = async (token: string): Promise<TokenStatus> => {
    const known = options.cacheTokens ? cache.get(token) : undefined;
    if (known) return known;
    const status = await options.introspect(token);
    if (options.cacheTokens && status.active) cache.set(token, status);
    return status;
  };

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    let text = '';
    for await (const chunk of req) text += chunk;
    return text ? JSON.parse(text) : undefined;
  };

  const handleMcp = async (req: IncomingMessage, res: ServerResponse, record: SeenRequest) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const status = token && !refused.has(token) ? await introspect(token) : { active: false };
    if (!status.active || status.kind !== 'AccessToken' || !status.audiences?.includes(resource)) {
      record.status = 401;
      return send(res, 401, { error: 'unauthorized' }, { 'www-authenticate': challenge(token ? ', error="invalid_token"' : '') });
    }
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    // MCP 2025-11-25 "Scope Challenge Handling": a call that needs more than the token carries gets 403 insufficient_scope.
    const calls = (Array.isArray(body) ? body : [body]) as Array<{ method?: string; params?: { name?: string } } | undefined>;
    const granted = new Set((status.scope ?? '').split(' '));
    for (const call of calls) {
      const needed = call?.method === 'tools/call' ? TOOL_SCOPES[call.params?.name ?? ''] : undefined;
      if (needed && !granted.has(needed)) {
        record.status = 403;
        const scope = [...granted].filter(Boolean).concat(needed).join(' ');
        return send(res, 403, { error: 'insufficient_scope' }, { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${origin}/meta/prm", error_description="${needed} needed"` });
      }
    }
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    let session = sessionId ? sessions.get(sessionId) : undefined;
    if (sessionId && !session) {
      record.status = 404;
      return send(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    }
    if (!session) {
      const server = buildServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      session = { transport, server };
    }
    record.status = 200;
    if (req.method === 'GET') {
      // The standalone stream's headers go out once the transport holds the stream (handleRequest
      // itself returns only when the stream ends).
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = ((...args: unknown[]) => {
        const result = writeHead(...args);
        if (args[0] === 200) for (const waiter of streamWaiters.splice(0)) setImmediate(waiter);
        return result;
      }) as typeof res.writeHead;
    }
    await session.transport.handleRequest(req, res, body);
    record.status = res.statusCode;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', origin).pathname;
    if (req.method === 'GET' && path === '/meta/prm' && discovery === 'challenge') return send(res, 200, metadata());
    if (req.method === 'GET' && path === '/.well-known/oauth-protected-resource/mcp' && discovery === 'path') return send(res, 200, metadata());
    if (req.method === 'GET' && path === '/.well-known/oauth-protected-resource' && discovery === 'root') return send(res, 200, metadata());
    if (path === '/mcp') {
      const record: SeenRequest = {
        method: req.method ?? '', authorization: req.headers.authorization, sessionId: req.headers['mcp-session-id'] as string | undefined,
        protocolVersion: req.headers['mcp-protocol-version'] as string | undefined, status: 0,
      };
      seen.push(record);
      return handleMcp(req, res, record);
    }
    send(res, 404, { error: 'not_found' });
  };

  let server = http.createServer();
  const listen = async (port: number) => {
    server = http.createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        console.error('mcp test server error', error);
        if (!res.headersSent) send(res, 500, { error: 'server_error' });
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  };
  const stop = async () => {
    for (const { transport, server: mcp } of sessions.values()) {
      await transport.close().catch(() => undefined);
      await mcp.close().catch(() => undefined);
    }
    sessions = new Map();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  const port = await listen(0);
  origin = `http://127.0.0.1:${port}`;
  url = `${origin}/mcp`;
  resource = discovery === 'root' ? origin : url;
  return {
    url,
    origin,
    resource,
    seen,
    attach: (value) => void (issuer = value),
    restart: async () => {
      await stop();
      await listen(port);
    },
    toolListChanged: () => {
      for (const { server: mcp } of sessions.values()) mcp.sendToolListChanged();
    },
    nextStream: () => new Promise<void>((resolve) => streamWaiters.push(resolve)),
    refuse: (token) => void refused.add(token),
    close: stop,
  };
}
