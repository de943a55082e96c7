// A controllable gate in front of the test server's token endpoint: point a provider's token_url at gate.url and
// the test decides, request by request, whether a token request reaches the server and whether its answer
// reaches the client (to kill a process before its request leaves, or after the server rotated but before the
// client stored the answer).
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type TokenGateMode = 'pass' | 'hold-request' | 'hold-response' | 'fail-500' | 'html' | 'slow' | 'oauth-error' | 'text' | 'json';

export interface TokenGateOptions {
  /** oauth-error: the `error` code (default invalid_grant). */
  error?: string;
  /** oauth-error: the `error_description` (left out when absent). */
  description?: string;
  /** slow: how long to wait before forwarding, in ms (default 30 000). */
  delayMs?: number;
  /** text: the plain-text body to answer with (not forwarded). */
  body?: string;
  /** text: the HTTP status (default 502); json: the HTTP status (default 200). */
  status?: number;
  /** json: the JSON body to answer with (not forwarded), e.g. a token response a hostile provider made up. */
  json?: unknown;
  /** pass, hold-response: fields merged into the server's JSON answer (a provider that repeats Salesforce's instance_url). */
  fields?: Record<string, unknown>;
}

export interface TokenGate {
  /** http://127.0.0.1:<port>/token */
  url: string;
  /**
   * How requests arriving from now on are handled (requests already held stay held until release()):
   * - pass: forwarded, the answer returned at once;
   * - hold-request: read and held, not forwarded (the server never sees it) until release();
   * - hold-response: forwarded; the server's answer is received and held until release();
   * - fail-500: 500 {"error":"server_error"}, not forwarded;
   * - html: 200 text/html (a login page), not forwarded;
   * - slow: forwarded after delayMs (default 30 s; release() cuts the wait short); a client that goes away
   *   meanwhile cancels it (never forwarded);
   * - oauth-error: 400 {"error": options.error ?? 'invalid_grant', "error_description": options.description}, not forwarded;
   * - text: options.status (default 502) with options.body as text/plain, not forwarded (a proxy's error page);
   * - json: options.status (default 200) with options.json as application/json, not forwarded (a made-up token response).
   */
  mode(mode: TokenGateMode, options?: TokenGateOptions): void;
  /**
   * Resolves once a request is held that no earlier nextHeld() reported: at once if one is held already, else when
   * the next one is. Held means: hold-request and slow, when the request has been read; hold-response, when the
   * server's answer has been received. Requests released (or given up by a dead client in slow mode) no longer
   * count. Rejects if the gate is closed first.
   */
  nextHeld(): Promise<void>;
  /**
   * Releases everything held now: held requests are forwarded (hold-request; slow ones at once) and held answers
   * delivered (hold-response). A request whose client has gone away is dropped: never forwarded, its answer discarded.
   */
  release(): void;
  /** POST /token requests that reached the gate (fully read), in every mode. */
  requests(): number;
  /** Requests forwarded to the server. */
  forwarded(): number;
  /** Ends held and slow requests (their connections are closed without an answer) and closes the server. */
  close(): Promise<void>;
}

interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Upstream answer headers passed back besides the body (content-length is recomputed). */
const ANSWER_HEADERS = ['content-type', 'cache-control', 'pragma', 'www-authenticate'];
/** Request headers not forwarded: hop-by-hop, or recomputed by fetch. */
const SKIP_REQUEST_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'proxy-connection']);

const LOGIN_PAGE = `<!doctype html>
<html><head><title>Sign in</title></head>
<body><h1>Sign in</h1>
<form method="post" action="/login"><input name="username"><input name="password" type="password"><button>Sign in</button></form>
</body></html>
`;

interface Held {
  claimed: boolean;
  /** Called by release() or close(). */
  wake: (how: 'release' | 'close') => void;
}

export async function startTokenGate(upstreamTokenEndpoint: string): Promise<TokenGate> {
  let current: { mode: TokenGateMode; options: TokenGateOptions } = { mode: 'pass', options: {} };
  let requestCount = 0;
  let forwardCount = 0;
  let closed = false;
  const held = new Set<Held>();
  const waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  const aborts = new Set<AbortController>();

  /** Hands a held entry to the oldest waiting nextHeld(), if any. */
  const announce = () => {
    for (const entry of held) {
      if (waiters.length === 0) return;
      if (entry.claimed) continue;
      entry.claimed = true;
      waiters.shift()!.resolve();
    }
  };

  /** Holds until release() ('release') or close() ('close'); the entry counts for nextHeld() meanwhile. */
  const hold = (onEntry?: (entry: Held) => void) =>
    new Promise<'release' | 'close'>((resolve) => {
      const entry: Held = {
        claimed: false,
        wake: (how) => {
          held.delete(entry);
          resolve(how);
        },
      };
      held.add(entry);
      onEntry?.(entry);
      announce();
    });

  const forward = async (req: IncomingMessage, body: Buffer): Promise<Upstream> => {
    forwardCount++;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || SKIP_REQUEST_HEADERS.has(name)) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const abort = new AbortController();
    aborts.add(abort);
    try {
      const res = await fetch(upstreamTokenEndpoint, { method: req.method, headers, body, signal: abort.signal, redirect: 'manual' });
      const answer: Upstream = { status: res.status, headers: {}, body: Buffer.from(await res.arrayBuffer()) };
      for (const name of ANSWER_HEADERS) {
        const value = res.headers.get(name);
        if (value !== null) answer.headers[name] = value;
      }
      return answer;
    } finally {
      aborts.delete(abort);
    }
  };

  const withFields = (answer: Upstream, fields: Record<string, unknown> | undefined): Upstream =>
    fields && answer.status === 200 ? { ...answer, body: Buffer.from(JSON.stringify({ ...JSON.parse(answer.body.toString('utf8')), ...fields })) } : answer;
  const json = (status: number, body: unknown): Upstream => ({
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: Buffer.from(JSON.stringify(body)),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'POST' || path !== '/token') {
      req.resume();
      return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found' }));
    }
    // Whether the client went away before it got its answer (killed process, aborted fetch).
    let gone = false;
    res.on('close', () => (gone = !res.writableFinished));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (closed) return void res.destroy();
    requestCount++;
    const { mode, options } = current;

    let answer: Upstream;
    switch (mode) {
      case 'pass':
        answer = withFields(await forward(req, body), options.fields);
        break;
      case 'hold-request':
        if ((await hold()) === 'close' || gone) return void res.destroy();
        answer = await forward(req, body);
        break;
      case 'hold-response':
        answer = withFields(await forward(req, body), options.fields);
        if ((await hold()) === 'close' || gone) return void res.destroy();
        break;
      case 'slow': {
        let timer: NodeJS.Timeout | undefined;
        const how = await hold((entry) => {
          timer = setTimeout(() => entry.wake('release'), options.delayMs ?? 30_000);
          res.on('close', () => gone && entry.wake('close')); // cancelled: never forwarded
        });
        clearTimeout(timer);
        if (how === 'close' || gone) return void res.destroy();
        answer = await forward(req, body);
        break;
      }
      case 'fail-500':
        answer = json(500, { error: 'server_error' });
        break;
      case 'html':
        answer = { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.from(LOGIN_PAGE) };
        break;
      case 'oauth-error':
        answer = json(400, { error: options.error ?? 'invalid_grant', error_description: options.description });
        break;
      case 'text':
        answer = { status: options.status ?? 502, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from(options.body ?? '') };
        break;
      case 'json':
        answer = json(options.status ?? 200, options.json ?? {});
        break;
    }
    if (gone || closed) return void res.destroy();
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
    res.end(answer.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (closed || res.headersSent) return void res.destroy();
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad_gateway', error_description: `token gate: ${String(err)}` }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;

  return {
    url,
    mode(mode, options = {}) {
      current = { mode, options };
    },
    nextHeld() {
      if (closed) return Promise.reject(new Error('token gate closed'));
      return new Promise<void>((resolve, reject) => {
        waiters.push({ resolve, reject });
        announce();
      });
    },
    release() {
      for (const entry of [...held]) entry.wake('release');
    },
    requests: () => requestCount,
    forwarded: () => forwardCount,
    async close() {
      if (closed) return;
      closed = true;
      for (const entry of [...held]) entry.wake('close');
      for (const waiter of waiters.splice(0)) waiter.reject(new Error('token gate closed'));
      for (const abort of aborts) abort.abort();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}
