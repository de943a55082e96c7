// `authsome mcp serve`: an MCP server on stdio for agents that must ask for access. Its tools list
// the connections (names, states, scopes), show one's status, ask a person to log in (the device
// code goes back to the agent to show them), and send HTTP requests with the credential `run`
// would add, the answer scrubbed of it. The agent never receives a credential. Every call is
// audited with the client's name from the initialize handshake; the allow lists bound what it may touch.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { redactor, toAuthsomeError, type Authsome } from '../broker/index.ts';
import { VERSION } from '../util/index.ts';
import { ServeLogins, type BrowserLoginFactory, type ServeFlow } from './serve-logins.ts';
import { allowsProvider, providerRefusal, type ServePolicy } from './serve-policy.ts';
import { sendToolRequest } from './serve-request.ts';

export interface ServeOptions {
  authsome: Authsome;
  policy: ServePolicy;
  /** The --verbose log. */
  log(line: string): void;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Browser logins, their start link handed to the agent (the CLI's daemon receives the callback); absent, only device and client-credentials logins. */
  browserLogin?: BrowserLoginFactory;
}

/**
 * The flow of a login an agent asks for: client credentials when that is the provider's flow (no
 * person); else what the agent asked for; else the provider's own — its browser flow when a browser
 * login can be offered, the device code when that is its flow or no browser login can be.
 */
function loginFlow(providerFlow: string | null, asked: 'browser' | 'device_code' | undefined, offersBrowser: boolean): ServeFlow {
  if (providerFlow === 'client_credentials') return 'client_credentials';
  if (asked) return asked;
  return providerFlow === 'device_code' || !offersBrowser ? 'device_code' : 'browser';
}

/** The longest a wait_for_login call waits (a device code lives minutes; the client's own timeout may be shorter). */
const MAX_WAIT_SECONDS = 600;

export async function serveMcp(options: ServeOptions): Promise<void> {
  const { authsome, policy } = options;
  const server = new McpServer({ name: 'authsome', version: VERSION }, {
    instructions: 'authsome holds credentials for HTTP APIs. list_connections shows what is connected and which URLs each covers; http_request sends a request with the credential added (you never see it); request_login asks the person to log in.',
  });
  const logins = new ServeLogins(authsome, options.browserLogin);
  const client = () => server.server.getClientVersion()?.name ?? 'unknown';
  /** Every call leaves one audit entry: the tool, the client, what it named, how it ended. */
  const audit = (tool: string, fields: Record<string, unknown>) => authsome.auditMcp({ tool, client: client(), ...fields });
  const refuse = (tool: string, reason: string, fields: Record<string, unknown> = {}): CallToolResult => {
    audit(tool, { ...fields, status: 'refused', reason });
    options.log(`mcp: ${client()} ${tool} refused: ${reason}`);
    return { isError: true, content: [{ type: 'text', text: `refused: ${reason}` }] };
  };
  const fail = (tool: string, error: unknown, fields: Record<string, unknown> = {}): CallToolResult => {
    const failure = toAuthsomeError(error);
    audit(tool, { ...fields, status: 'failure', error: failure.code });
    const text = redactor.redact(`${failure.code}: ${failure.message}${failure.hint ? `\n${failure.hint}` : ''}`);
    return { isError: true, content: [{ type: 'text', text }] };
  };
  const answer = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: redactor.redact(JSON.stringify(value, null, 2)) }] });

  server.registerTool('list_connections', {
    description: 'The connected providers: each connection\'s name, state, scopes, account and the URLs its routes cover (never a credential).',
    annotations: { readOnlyHint: true },
  }, async () => {
    try {
      const [{ providers }, { routes }] = await Promise.all([authsome.list(), authsome.proxyRoutes()]);
      const connections = providers.filter((p) => allowsProvider(policy, p.name)).flatMap((p) => p.connections.map((c) => ({
        provider: p.name, connection: c.connection_name, status: c.status, default: c.default, auth_type: c.auth_type, scopes: c.scopes ?? null,
        account: c.account?.label ?? null, expires_at: c.expires_at ?? null,
        routes: routes.find((r) => r.provider === p.name && r.connection === c.connection_name)?.rules.map((rule) => rule.url) ?? [],
      })));
      audit('list_connections', { status: 'success', connections: connections.length });
      return answer({ connections });
    } catch (error) {
      return fail('list_connections', error);
    }
  });

  server.registerTool('connection_status', {
    description: 'One connection\'s state (connected, expired, invalid…), scopes, account and expiry (never a credential).',
    inputSchema: { provider: z.string(), connection: z.string().optional() },
    annotations: { readOnlyHint: true },
  }, async ({ provider, connection }) => {
    if (!allowsProvider(policy, provider)) return refuse('connection_status', providerRefusal(policy, provider), { provider });
    try {
      const view = await authsome.storedView(provider, connection ? { connection } : {});
      const pick = (name: string) => view[name] ?? null;
      const status = {
        provider, connection: pick('connection_name'), status: pick('status'), auth_type: pick('auth_type'), scopes: pick('scopes'),
        account: (view.account as { label?: string | null } | undefined)?.label ?? null, expires_at: pick('expires_at'), obtained_at: pick('obtained_at'),
      };
      audit('connection_status', { provider, connection: status.connection, status: 'success' });
      return answer(status);
    } catch (error) {
      return fail('connection_status', error, { provider });
    }
  });

  server.registerTool('request_login', {
    description: 'Asks the person to log in to a provider: answers with a link to show them (login_url: they sign in in their browser), or a URL and a code (device flow: any device), or logs in by itself when the provider uses client credentials. Then call wait_for_login. You never receive the credential. flow: "browser" or "device_code" instead of the provider\'s own.',
    inputSchema: { provider: z.string(), connection: z.string().optional(), flow: z.enum(['browser', 'device_code']).optional() },
  }, async ({ provider, connection, flow: asked }) => {
    if (!allowsProvider(policy, provider)) return refuse('request_login', providerRefusal(policy, provider), { provider });
    const name = connection ?? 'default';
    try {
      const summary = (await authsome.list()).providers.find((p) => p.name === provider);
      if (!summary) return refuse('request_login', `no provider is named ${provider} (see list_connections, or \`authsome list\`)`, { provider });
      if (summary.auth_type === 'api_key') {
        return refuse('request_login', `${provider} takes an API key, which a person enters: ask them to run \`authsome login ${provider}${name === 'default' ? '' : ` --connection ${name}`}\``, { provider });
      }
      const existing = summary.connections.find((c) => c.connection_name === name);
      if (existing?.status === 'connected') {
        audit('request_login', { provider, connection: name, status: 'success', outcome: 'already_connected' });
        return answer({ status: 'connected', provider, connection: name, account: existing.account?.label ?? null });
      }
      const flow = loginFlow(summary.flow, asked, logins.offersBrowser);
      if (flow === 'browser' && !logins.offersBrowser) return refuse('request_login', 'browser logins are not available here; ask for flow "device_code", or ask the person to run `authsome login ' + provider + '`', { provider });
      const state = await logins.request(provider, name, flow, existing !== undefined, summary.flow === 'dcr_pkce' ? 'dcr_pkce' : 'pkce');
      audit('request_login', { provider, connection: name, flow, status: state.status === 'failed' ? 'failure' : 'success', outcome: state.status });
      return state.status === 'failed' ? { isError: true, content: [{ type: 'text', text: redactor.redact(JSON.stringify(state, null, 2)) }] } : answer(state);
    } catch (error) {
      return fail('request_login', error, { provider, connection: name });
    }
  });

  server.registerTool('wait_for_login', {
    description: 'Waits for a login asked for with request_login to finish (the person approved or denied it), up to timeout_seconds; answers its state.',
    inputSchema: { provider: z.string(), connection: z.string().optional(), timeout_seconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).optional() },
  }, async ({ provider, connection, timeout_seconds }) => {
    if (!allowsProvider(policy, provider)) return refuse('wait_for_login', providerRefusal(policy, provider), { provider });
    const name = connection ?? 'default';
    try {
      const state = await logins.wait(provider, name, (timeout_seconds ?? 120) * 1000);
      if (!state) {
        const view = await authsome.storedView(provider, { connection: name }).catch(() => null);
        audit('wait_for_login', { provider, connection: name, status: 'success', outcome: 'none' });
        return answer({ status: view ? view.status : 'not_connected', provider, connection: name, note: 'no login is under way for this connection' });
      }
      audit('wait_for_login', { provider, connection: name, status: state.status === 'failed' ? 'failure' : 'success', outcome: state.status });
      return state.status === 'failed' ? { isError: true, content: [{ type: 'text', text: redactor.redact(JSON.stringify(state, null, 2)) }] } : answer(state);
    } catch (error) {
      return fail('wait_for_login', error, { provider, connection: name });
    }
  });

  server.registerTool('http_request', {
    description: 'Sends an HTTP request to a URL a connection\'s routes cover, with that connection\'s credential added as `authsome run` would add it; answers the status, headers and body, with any copy of the credential replaced by "authsome-proxy-managed". Redirects are returned, not followed.',
    inputSchema: {
      method: z.string().default('GET'), url: z.string(), headers: z.record(z.string(), z.string()).optional(), body: z.string().optional(),
    },
  }, async ({ method, url, headers, body }) => {
    const where = (() => {
      try {
        const u = new URL(url);
        return `${u.origin}${u.pathname}`;
      } catch {
        return '(not a URL)';
      }
    })();
    try {
      const outcome = await sendToolRequest(authsome, policy, { method, url, headers, body });
      if ('refused' in outcome) return refuse('http_request', outcome.refused, { method: method.toUpperCase(), url: where });
      const r = outcome.response;
      audit('http_request', {
        method: method.toUpperCase(), url: where, provider: r.provider, connection: r.connection, http_status: r.status,
        retried: outcome.retried, echoes_replaced: r.replaced, status: 'success',
      });
      options.log(`mcp: ${client()} ${method.toUpperCase()} ${where} → ${r.status} with ${r.provider} (${r.connection})`);
      return answer(r);
    } catch (error) {
      return fail('http_request', error, { method: method.toUpperCase(), url: where });
    }
  });

  const input = options.input ?? process.stdin;
  const transport = new StdioServerTransport(input as never, (options.output ?? process.stdout) as never);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
    // The client ending our stdin ends the session (the SDK's transport listens for data only).
    input.once('end', () => void server.close().finally(resolve));
  });
  await server.connect(transport);
  options.log(`mcp: serving on stdio${policy.providers ? ` (providers ${policy.providers.join(', ')})` : ''}${policy.hosts ? ` (hosts ${policy.hosts.join(', ')})` : ''}${policy.methods ? ` (methods ${policy.methods.join(', ')})` : ''}`);
  await closed;
}
