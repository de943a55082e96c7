// `authsome mcp connect`: relays JSON-RPC messages unchanged between a stdio MCP client (this
// process's stdin/stdout) and a remote Streamable HTTP MCP server, both ways — the server's own
// requests (sampling, elicitation), notifications and SSE streams included — with the broker's
// credential added to every HTTP request by the fetch of bridge-fetch.ts. The token never reaches
// the stdio side: only message bodies are relayed, never headers.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  isInitializeRequest, isInitializedNotification, isJSONRPCRequest, isJSONRPCResultResponse,
  type JSONRPCMessage, type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Readable, Writable } from 'node:stream';
import { authorizedFetch, type BridgeCredentials } from './bridge-fetch.ts';
import { requireSecureEndpoint } from './endpoint.ts';

export interface BridgeOptions {
  url: URL;
  credentials: BridgeCredentials;
  stdin?: Readable;
  stdout?: Writable;
  /** Debug lines (--verbose), already free of secrets. */
  log: (line: string) => void;
  /** Human-facing warnings: stderr, never stdout (the stdio client owns it). */
  warn: (line: string) => void;
  /** The one redactor: every text that leaves for the client or a log passes through it. */
  redact: (text: string) => string;
  /** The store's change feed for this connection (null: anything may have changed); resolves to a stop function. */
  watch?: (onChange: () => void) => Promise<(() => Promise<void>) | null>;
  /** Called once when the session ends, with its counts (the audit entry; never a value). */
  onClose?: (stats: BridgeStats) => void;
}

export interface BridgeStats {
  messages_to_server: number;
  messages_to_client: number;
  /** Requests the bridge answered itself because the server could not be reached or refused them. */
  refused: number;
  /** New sessions started after the server forgot one (a restart). */
  new_sessions: number;
  /** Messages from the server that quoted a secret, replaced before they reached the client. */
  secrets_replaced: number;
  refreshes_after_401: number;
  step_ups: number;
  ended_by: string;
}

/** JSON-RPC "server error" range (JSON-RPC 2.0 §5.1): the bridge could not deliver a request. */
const BRIDGE_ERROR = -32000;
const REINIT_ID_PREFIX = 'authsome-bridge-reinitialize-';

/** Runs until stdin ends or a SIGTERM/SIGINT arrives; resolves with the exit code. */
export async function runBridge(options: BridgeOptions): Promise<number> {
  const { log, redact } = options;
  const url = requireSecureEndpoint(options.url.href);
  const stdin = options.stdin ?? process.stdin;
  const client = new StdioServerTransport(stdin, options.stdout ?? process.stdout);
  const authorized = authorizedFetch({ credentials: options.credentials, log });
  const fetchWithToken = authorized.fetch;
  // Another process refreshed, a login replaced the token, a logout removed it: the next request asks the broker again.
  const stopWatching = await (options.watch?.(() => {
    log('mcp: credential changed in the store');
    authorized.invalidate();
  }) ?? Promise.resolve(null));
  let initialize: JSONRPCRequest | null = null;
  let initialized: JSONRPCMessage | null = null;
  let protocolVersion: string | null = null;
  let reinitializing: Promise<void> | null = null;
  let reinitCount = 0;
  const pendingReinit = new Map<string, (message: JSONRPCMessage) => void>();
  let closing = false;
  const counts = { messages_to_server: 0, messages_to_client: 0, refused: 0, new_sessions: 0, secrets_replaced: 0 };

  const open = (): StreamableHTTPClientTransport => {
    const transport = new StreamableHTTPClientTransport(url, { fetch: fetchWithToken });
    transport.onmessage = (message) => {
      if (isJSONRPCResultResponse(message) || 'error' in message) {
        const id = (message as { id?: unknown }).id;
        const waiter = typeof id === 'string' ? pendingReinit.get(id) : undefined;
        if (waiter) return waiter(message);
        // The client's own initialize: later requests carry the version it agreed on (MCP transports §"Protocol Version Header").
        if (initialize && id === initialize.id && isJSONRPCResultResponse(message)) {
          const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
          if (typeof version === 'string') {
            protocolVersion = version;
            transport.setProtocolVersion(version);
          }
        }
      }
      counts.messages_to_client++;
      client.send(scrubbed(message)).catch((error: unknown) => log(`mcp: could not write to the client: ${redact(String(error))}`));
    };
    transport.onerror = (error) => log(`mcp: server transport: ${redact(error.message)}`);
    return transport;
  };
  /**
   * A server that quotes the request back (an echo tool, an error that repeats the headers) would
   * hand the client the token: every secret this process holds is replaced before a message goes out.
   */
  const scrubbed = (message: JSONRPCMessage): JSONRPCMessage => {
    const text = JSON.stringify(message);
    const clean = redact(text);
    if (clean === text) return message;
    counts.secrets_replaced++;
    log(`mcp: a message from the server quoted a secret; replaced before it reached the client (${describe(message)})`);
    return JSON.parse(clean) as JSONRPCMessage;
  };
  let remote = open();
  await remote.start();

  /**
   * The server forgot the session (404 for a request that carried Mcp-Session-Id: it restarted, or
   * expired the session). MCP transports §"Session Management": start a new one with a new
   * InitializeRequest. The client already initialized, so the bridge replays its initialize and
   * initialized notification, keeps the answers to itself, and carries on; the client sees nothing.
   */
  const reinitialize = async (): Promise<void> => {
    if (!initialize) throw new Error('the server forgot the session before it was initialized');
    const previous = remote;
    previous.onmessage = undefined;
    await previous.close().catch(() => undefined);
    remote = open();
    await remote.start();
    const id = `${REINIT_ID_PREFIX}${++reinitCount}`;
    const answer = new Promise<JSONRPCMessage>((resolve) => pendingReinit.set(id, resolve));
    await remote.send({ ...initialize, id });
    const reply = await answer;
    pendingReinit.delete(id);
    if (!isJSONRPCResultResponse(reply)) throw new Error(`the server refused the new session: ${JSON.stringify((reply as { error?: unknown }).error)}`);
    const version = (reply.result as { protocolVersion?: unknown }).protocolVersion;
    if (typeof version === 'string' && version !== protocolVersion) log(`mcp: the new session speaks ${version}, the client agreed on ${String(protocolVersion)}`);
    if (typeof version === 'string') remote.setProtocolVersion(version);
    if (initialized) await remote.send(initialized);
    counts.new_sessions++;
    log(`mcp: the server forgot the session; a new one was started (${remote.sessionId ?? 'no session id'})`);
  };

  const deliver = async (message: JSONRPCMessage): Promise<void> => {
    if (reinitializing) await reinitializing.catch(() => undefined);
    const sent = remote;
    try {
      await sent.send(message);
    } catch (error) {
      const gone = error instanceof StreamableHTTPError && error.code === 404 && sent.sessionId !== undefined && !isInitializeRequest(message);
      if (!gone) throw error;
      if (remote === sent) {
        reinitializing = reinitialize().finally(() => (reinitializing = null));
      }
      await reinitializing;
      await remote.send(message);
    }
  };

  const refuse = (message: JSONRPCMessage, error: unknown) => {
    const text = redact(reason(error));
    log(`mcp: could not relay ${describe(message)}: ${text}`);
    // A request gets its answer, so the client does not wait forever; a notification or a response has no one to tell.
    if (isJSONRPCRequest(message)) {
      counts.refused++;
      void client.send({ jsonrpc: '2.0', id: message.id, error: { code: BRIDGE_ERROR, message: `authsome mcp connect: ${text}` } }).catch(() => undefined);
    }
  };

  client.onmessage = (message) => {
    if (isInitializeRequest(message)) initialize = message as JSONRPCRequest;
    else if (isInitializedNotification(message)) initialized = message;
    counts.messages_to_server++;
    deliver(message).catch((error: unknown) => refuse(message, error));
  };
  client.onerror = (error) => log(`mcp: client transport: ${redact(error.message)}`);

  return new Promise<number>((resolve) => {
    const close = async (why: string) => {
      if (closing) return;
      closing = true;
      log(`mcp: closing (${why})`);
      // MCP transports §"Session Management": a client that is done SHOULD end its session with DELETE.
      const ended = remote.sessionId ? remote.terminateSession().catch(() => undefined) : Promise.resolve();
      await Promise.race([ended, new Promise((done) => setTimeout(done, 2000).unref())]);
      await remote.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      await stopWatching?.().catch(() => undefined);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      options.onClose?.({ ...counts, ...authorized.stats, ended_by: why });
      // A paused stdin still holds the event loop open; the client is gone either way.
      stdin.destroy();
      resolve(0);
    };
    const onTerm = () => void close('SIGTERM');
    const onInt = () => void close('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    stdin.on('end', () => void close('the client closed stdin'));
    stdin.on('close', () => void close('the client closed stdin'));
    void client.start();
  });
}

/** Why a message could not be relayed, with the server's HTTP status when it answered one. */
function reason(error: unknown): string {
  if (error instanceof StreamableHTTPError && error.code !== undefined && error.code > 0) {
    const detail = error.message.replace(/^Streamable HTTP error: /, '');
    const what = error.code === 401 ? ' (the token was refused; if this lasts, log in again with --force)'
      : error.code === 403 ? ' (the token lacks a permission the server wants)' : '';
    return `the server answered HTTP ${error.code}${what}: ${detail}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function describe(message: JSONRPCMessage): string {
  if ('method' in message) return `${message.method}${'id' in message ? ` (id ${String(message.id)})` : ''}`;
  return `the response to id ${String((message as { id?: unknown }).id)}`;
}
