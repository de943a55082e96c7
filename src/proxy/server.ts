// The proxy `run` puts in front of its child: an HTTP proxy on an ephemeral 127.0.0.1 port that
// demands the run's secret, decrypts only hosts with a route (a leaf certificate from our CA),
// injects the route's credential, and tunnels everything else blindly. Upstream TLS is verified
// against the system roots; connections to upstreams are kept alive.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type AddressInfo, type Socket } from 'node:net';
import { Readable, pipeline } from 'node:stream';
import { TLSSocket, rootCertificates } from 'node:tls';
import { normalizePathname, type Injection } from '../broker/index.ts';
import type { LeafCache } from './certificates.ts';
import type { CredentialCache } from '../broker/index.ts';
import { PLACEHOLDER } from './child-env.ts';
import { credentialRefusal, rawRefusal, sendRefusal } from './refusal.ts';
import { decodableAcceptEncoding, guardResponse, scrubBody, scrubRawHeaders } from './response-guard.ts';
import type { Route, RouteTable } from './routes.ts';
import { sameSecret } from './secret.ts';
import { RunStats } from './stats.ts';

/** Bodies up to this size are kept so a request can be replayed after a refresh (the issue's 1 MiB). */
const REPLAY_LIMIT = 1024 * 1024;
const HOP_BY_HOP = new Set(['proxy-authorization', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding']);

export interface ProxyOptions {
  routes: RouteTable;
  leaves: LeafCache;
  credentials: CredentialCache;
  /** The run's secret, carried in the proxy URL's userinfo (Proxy-Authorization: Basic). */
  secret: string;
  /** host:port → where to connect instead (tests, like curl --connect-to); DNS otherwise. */
  connectTo?: Map<string, { host: string; port: number }>;
  /** CAs to trust for upstreams besides Node's roots (`doctor --proxy`'s probe server). */
  upstreamCA?: string[];
  log: (line: string) => void;
  /** Masks known secrets in what the proxy itself tells the child (the process's one redactor). */
  redact?: (text: string) => string;
}

export interface RunningProxy {
  port: number;
  url: string;
  stats: RunStats;
  close(): Promise<void>;
}

type Target = { host: string; port: number };

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const stats = new RunStats();
  const agent = new HttpsAgent({
    // Explicit: a NODE_TLS_REJECT_UNAUTHORIZED=0 in the parent must never send credentials to an unverified host.
    keepAlive: true, noDelay: true, maxSockets: 64, ALPNProtocols: ['http/1.1'], rejectUnauthorized: true,
    ...(options.upstreamCA ? { ca: [...rootCertificates, ...options.upstreamCA] } : {}),
  } as ConstructorParameters<typeof HttpsAgent>[0]);
  const expected = `Basic ${Buffer.from(`authsome:${options.secret}`).toString('base64')}`;
  const authorized = (req: IncomingMessage) => sameSecret(req.headers['proxy-authorization'] ?? '', expected);
  const where = (target: Target): Target => options.connectTo?.get(`${target.host}:${target.port}`) ?? target;

  // Decrypted requests from intercepted CONNECT tunnels.
  // Whatever a request does, it fails alone: an exception here must never take the proxy (and the
  // child's exit code) down with it.
  const targetOf = (req: IncomingMessage) => (req.socket as TLSSocket & { target: Target }).target;
  const inner = createServer((req, res) => {
    const normalized = normalizeRequestTarget(req, targetOf(req));
    if (!normalized) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('authsome proxy: the request target does not match the tunnel\n');
    req.url = normalized;
    forward(req, res, targetOf(req)).catch((error: Error) => fail(res, error));
  });
  inner.keepAliveTimeout = 60_000;
  inner.on('upgrade', (req, socket, head) => {
    const normalized = normalizeRequestTarget(req, targetOf(req));
    if (!normalized) return void (socket as Socket).destroy();
    req.url = normalized;
    upgrade(req, socket as Socket, head, targetOf(req)).catch(() => (socket as Socket).destroy());
  });

  const outer = createServer((req, res) => {
    // Plain-HTTP proxying: forwarded untouched; credentials never travel unencrypted.
    if (!authorized(req)) return refuse(res);
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('authsome proxy: absolute-form URL required\n');
      return;
    }
    const target = { host: url.hostname, port: Number(url.port) || 80 };
    stats.request(target.host);
    const to = where(target);
    const upstream = httpRequest({ host: to.host, port: to.port, method: req.method, path: url.pathname + url.search, headers: strip(req.headers) }, (r) => {
      stats.status(target.host, r.statusCode ?? 0);
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', (error) => fail(res, error));
    req.pipe(upstream);
  });
  // CONNECT sockets leave the HTTP server's bookkeeping once upgraded; close() must still end them,
  // or a background process of the child holding a tunnel would keep `run` from exiting.
  const liveSockets = new Set<Socket>();
  outer.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    liveSockets.add(socket);
    socket.on('close', () => liveSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (!authorized(req)) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="authsome"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const interception = options.routes.intercepts(target.host, target.port);
    if (!interception.intercept) {
      if (interception.why) options.log(`proxy: ${interception.why}`);
      return tunnel(socket, head, target);
    }
    stats.connect(target.host);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    void options.leaves.leafFor(target.host).then((leaf) => {
      // A default context from the CONNECT authority: clients that send no SNI still get a certificate.
      const tls = new TLSSocket(socket, {
        isServer: true, ALPNProtocols: ['http/1.1'], secureContext: leaf.context,
        SNICallback: (name, done) => {
          // Most clients name the CONNECT host in SNI: the default context already fits.
          if (!name || name.toLowerCase() === target.host) return done(null, leaf.context);
          options.leaves.leafFor(name).then((l) => done(null, l.context), (e: Error) => done(e));
        },
      });
      (tls as TLSSocket & { target: Target }).target = target;
      tls.on('error', () => socket.destroy());
      inner.emit('connection', tls);
    }, () => socket.destroy());
  });

  function tunnel(socket: Socket, head: Buffer, target: Target): void {
    stats.tunnel(target.host);
    const to = where(target);
    const upstream = netConnect(to.port, to.host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'));
    socket.on('close', () => upstream.destroy());
  }

  async function forward(req: IncomingMessage, res: ServerResponse, target: Target): Promise<void> {
    const started = Date.now();
    const decision = options.routes.decide(target.host, target.port, req.url ?? '/');
    stats.request(target.host);
    let injection: Injection | null = null;
    if (decision.inject) {
      try {
        injection = await options.credentials.get(decision.route);
      } catch (error) {
        // The child gets an answer it can show, never a hang, and never the request sent without
        // its credential: a 401 naming the fix when a login is what it takes (refusal.ts).
        const refusal = credentialRefusal(error, decision.route, options.redact);
        options.log(`proxy: no credential for ${decision.route.label}: ${(error as Error).message}; answered ${refusal.status}`);
        stats.status(target.host, refusal.status);
        req.resume();
        sendRefusal(res, refusal);
        return;
      }
    } else if (decision.kind === 'ambiguous' || decision.kind === 'own_endpoint') {
      options.log(`proxy: ${req.method} ${target.host}${pathOnly(req.url)}: ${decision.why}`);
    }
    // Keep the body (up to the limit) while it streams, so an OAuth request can be replayed once.
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const replayable = Boolean(injection?.oauth);
    const to = where(target);
    const send = (credential: Injection | null) => httpsRequest({
      host: to.host, port: to.port, servername: isIP(target.host) ? undefined : target.host, agent,
      method: req.method, path: withQuery(req.url ?? '/', credential), headers: withCredential(req.headers, target, credential, decision.inject ? decision.route.headers : {}),
    });
    const upstream = send(injection);
    if (declaresNoBody(req)) {
      // Most API calls (a GET) have no body: the upstream request is sent whole at once, without a
      // pipe and its listeners; the child's request is drained by Node when the answer is sent.
      upstream.end();
    } else {
      req.on('data', (chunk: Buffer) => {
        if (replayable && keptBytes <= REPLAY_LIMIT) {
          keptBytes += chunk.length;
          if (keptBytes <= REPLAY_LIMIT) kept.push(chunk);
        }
      });
      req.pipe(upstream);
    }
    const answer = (r: IncomingMessage, replayed: boolean, used: Injection | null) => {
      const status = r.statusCode ?? 502;
      stats.status(target.host, status);
      if (decision.inject) {
        stats.used(decision.route.label);
        options.log(`proxy: ${req.method} ${target.host}${pathOnly(req.url)} → ${status} in ${Date.now() - started} ms (${decision.why}${replayed ? ', replayed after a refresh' : ''})`);
      }
      if (!used) {
        res.writeHead(status, r.headers);
        return void r.pipe(res);
      }
      deliver(status, r.headers, r, used);
    };
    /** An answer to an injected request, with every copy of the credential taken out (response-guard.ts). */
    const deliver = (status: number, headers: IncomingMessage['headers'], body: Readable, used: Injection) => {
      const guarded = guardResponse(status, headers, used, req.method);
      if (guarded.unscanned) options.log(`proxy: ${req.method} ${target.host}${pathOnly(req.url)}: the body is not scanned for the credential: ${guarded.unscanned}`);
      const reported = () => {
        const replaced = guarded.replaced();
        if (!replaced) return;
        stats.echoed(replaced);
        options.log(`proxy: ${req.method} ${target.host}${pathOnly(req.url)}: the answer quoted the credential; ${replaced} ${replaced === 1 ? 'copy' : 'copies'} replaced with ${PLACEHOLDER}`);
      };
      if (guarded.whole) return keepWhole(body, guarded.whole, () => res.writeHead(status, guarded.headers), res, reported);
      res.writeHead(status, guarded.headers);
      if (guarded.transforms.length === 0) {
        body.pipe(res);
        return void body.once('end', reported);
      }
      pipeline([body, ...guarded.transforms, res], (error) => {
        if (error && !res.destroyed) options.log(`proxy: ${req.method} ${target.host}${pathOnly(req.url)}: the answer broke off: ${error.message}`);
        reported();
      });
    };
    upstream.on('response', (r) => {
      const canReplay = replayable && injection && r.statusCode === 401 && req.complete && keptBytes <= REPLAY_LIMIT && decision.inject;
      if (!canReplay) {
        // Too big to replay, but the token was refused: renew it for the requests that follow.
        if (replayable && injection && r.statusCode === 401 && decision.inject) void options.credentials.renewAfter401(decision.route, injection).catch(() => undefined);
        return answer(r, false, injection);
      }
      // Keep the 401 whole (it is small): if no fresh token comes, the child gets exactly this answer.
      const refusal: Buffer[] = [];
      r.on('data', (chunk: Buffer) => refusal.push(chunk));
      const passRefusal = () => {
        stats.status(target.host, 401);
        deliver(401, r.headers, Readable.from([Buffer.concat(refusal)]), injection!);
      };
      r.on('end', () => {
        void options.credentials.renewAfter401(decision.route as Route, injection!).then(({ injection: renewed, why }) => {
          if (!renewed) {
            options.log(`proxy: ${target.host}${pathOnly(req.url)} answered 401 and ${decision.route!.label} was not renewed (${why}); the 401 goes to the child`);
            return passRefusal();
          }
          const retry = send(renewed);
          retry.on('response', (second) => answer(second, true, renewed));
          retry.on('error', (error) => fail(res, error));
          retry.end(Buffer.concat(kept));
        }, (error: Error) => {
          options.log(`proxy: refresh after 401 failed for ${decision.route!.label}: ${error.message}`);
          passRefusal();
        });
      });
    });
    upstream.on('error', (error) => fail(res, error));
  }

  async function upgrade(req: IncomingMessage, socket: Socket, head: Buffer, target: Target): Promise<void> {
    const decision = options.routes.decide(target.host, target.port, req.url ?? '/');
    stats.request(target.host);
    let injection: Injection | null = null;
    if (decision.inject) {
      try {
        injection = await options.credentials.get(decision.route);
      } catch (error) {
        // As for plain requests: the upgrade is refused here, never sent on without its credential.
        const refusal = credentialRefusal(error, decision.route, options.redact);
        options.log(`proxy: no credential for ${decision.route.label}: ${(error as Error).message}; upgrade answered ${refusal.status}`);
        stats.status(target.host, refusal.status);
        socket.end(rawRefusal(refusal));
        return;
      }
    }
    const to = where(target);
    const upstream = httpsRequest({
      host: to.host, port: to.port, servername: isIP(target.host) ? undefined : target.host, method: req.method, rejectUnauthorized: true,
      path: withQuery(req.url ?? '/', injection), headers: { ...withCredential(req.headers, target, injection, decision.inject ? decision.route.headers : {}), connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' },
    });
    upstream.on('upgrade', (r, upstreamSocket, upstreamHead) => {
      stats.status(target.host, 101);
      if (decision.inject) stats.used(decision.route.label);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\n${rawHeaders(injection ? scrubRawHeaders(r.rawHeaders, injection).raw : r.rawHeaders)}\r\n`);
      if (upstreamHead.length) socket.write(upstreamHead);
      if (head.length) upstreamSocket.write(head);
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      socket.on('error', () => upstreamSocket.destroy());
      upstreamSocket.on('error', () => socket.destroy());
    });
    upstream.on('response', (r) => {
      // The upgrade was refused: the child gets the answer whole (framing re-done: the body is read decoded).
      stats.status(target.host, r.statusCode ?? 502);
      const body: Buffer[] = [];
      r.on('data', (chunk: Buffer) => body.push(chunk));
      r.on('end', () => {
        // Kept whole and small, so scrubbed whole; a compressed one is not decoded (the README's limits).
        const payload = injection ? scrubBody(Buffer.concat(body), injection).body : Buffer.concat(body);
        const raw = injection ? scrubRawHeaders(r.rawHeaders, injection).raw : r.rawHeaders;
        const headers: string[] = [];
        for (let i = 0; i < raw.length; i += 2) {
          if (!/^(content-length|transfer-encoding|connection)$/i.test(raw[i]!)) headers.push(raw[i]!, raw[i + 1]!);
        }
        headers.push('Content-Length', String(payload.length), 'Connection', 'close');
        socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${r.statusCode} ${r.statusMessage}\r\n${rawHeaders(headers)}\r\n`), payload]));
      });
    });
    upstream.on('error', () => socket.destroy());
    upstream.end();
  }

  await new Promise<void>((resolve) => outer.listen(0, '127.0.0.1', resolve));
  const port = (outer.address() as AddressInfo).port;
  return {
    port,
    url: `http://authsome:${options.secret}@127.0.0.1:${port}`,
    stats,
    close: async () => {
      agent.destroy();
      await new Promise<void>((resolve) => {
        outer.close(() => resolve());
        outer.closeAllConnections();
        inner.closeAllConnections();
        for (const socket of liveSockets) socket.destroy();
      });
    },
  };
}

/**
 * The child's headers, minus hop-by-hop ones, with the credential replacing any header of the same
 * name, and the route's fixed headers (an API version) added where the child sent none of that
 * name: an SDK that pins its own version keeps it.
 */
function withCredential(headers: IncomingMessage['headers'], target: Target, injection: Injection | null, fixed: Record<string, string> = {}): Record<string, string | string[]> {
  const out = strip(headers);
  out.host = target.port === 443 ? target.host : `${target.host}:${target.port}`;
  // Node gives the child's header names in lower case, and `out` holds only those and "host".
  if (injection) for (const name in fixed) if (!Object.hasOwn(out, name.toLowerCase())) out[name] = fixed[name]!;
  for (const name in injection?.headers) {
    const lower = name.toLowerCase();
    for (const existing in out) if (existing !== name && existing.toLowerCase() === lower) delete out[existing];
    out[name] = injection.headers[name]!;
  }
  if (injection) {
    // Only codings the proxy can decode, so the answer can be scanned for the credential; without
    // the header a server may send any coding (RFC 9110 §12.5.3), so none left means identity.
    out['accept-encoding'] = decodableAcceptEncoding(out['accept-encoding']) ?? 'identity';
  }
  return out;
}

/**
 * The origin-form path the decision is made on and the upstream receives — the same string, so
 * what was checked is what is sent. An absolute-form target must name the tunnel's own authority
 * (RFC 9112 §3.2.2 lets it override Host); dot-segments and repeated slashes are resolved and
 * percent-escaped unreserved characters decoded (RFC 3986 §6.2.2), so "//oauth/%74oken" cannot
 * slip past an own-endpoint or path-prefix rule. Null when the target is unacceptable.
 */
export function normalizeRequestTarget(req: IncomingMessage, target: Target): string | null {
  let raw = req.url ?? '/';
  if (raw === '*') return raw;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return null;
    }
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    if (url.protocol !== 'https:' || url.hostname.toLowerCase() !== target.host || port !== target.port) return null;
    raw = raw.slice(raw.indexOf('/', url.protocol.length + 2)) || '/';
  }
  if (!raw.startsWith('/')) return null;
  // The query is passed on exactly as the child wrote it; only the path is normalized.
  const q = raw.indexOf('?');
  const query = q === -1 ? '' : raw.slice(q);
  let path: string;
  try {
    path = normalizePathname(raw.slice(0, q === -1 ? undefined : q));
  } catch {
    return null;
  }
  return path + query;
}

/**
 * A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3, the last
 * rule), and neither has one that declares a length of 0.
 */
function declaresNoBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

function withQuery(path: string, injection: Injection | null): string {
  if (!injection || Object.keys(injection.query).length === 0) return path;
  const url = new URL(path, 'https://placeholder');
  for (const [name, value] of Object.entries(injection.query)) url.searchParams.set(name, value);
  return url.pathname + url.search;
}

function strip(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/**
 * A small answer (response-guard.ts, WHOLE_BODY_LIMIT) read into one buffer of its declared size,
 * scrubbed, and sent with its length: head and body leave in one write. An answer that breaks off
 * before its end never reaches the child as if it were whole: the child's connection is reset.
 */
function keepWhole(body: Readable, whole: { length: number; scrub(body: Buffer): Buffer }, writeHead: () => void, res: ServerResponse, reported: () => void): void {
  let held = Buffer.allocUnsafe(whole.length);
  let at = 0;
  let ended = false;
  body.on('data', (chunk: Buffer) => {
    // Node's parser holds the upstream to its Content-Length; a replayed 401 is one buffer. Growing is a safety net.
    if (at + chunk.length > held.length) held = Buffer.concat([held.subarray(0, at), chunk]), at = held.length;
    else at += chunk.copy(held, at);
  });
  body.once('end', () => {
    ended = true;
    const out = whole.scrub(held.subarray(0, at));
    writeHead();
    res.end(out);
    reported();
  });
  body.once('close', () => { if (!ended) res.destroy(); });
  body.once('error', () => res.destroy());
}

function rawHeaders(raw: string[]): string {
  let text = '';
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return text;
}

function parseAuthority(authority: string): Target | null {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  if (!match) return null;
  return { host: match[1]!.toLowerCase(), port: Number(match[2]) };
}

/** Paths are logged without their query: API keys and tokens travel there too. */
function pathOnly(url: string | undefined): string {
  return (url ?? '/').split('?')[0]!;
}

function refuse(res: ServerResponse): void {
  res.writeHead(407, { 'proxy-authenticate': 'Basic realm="authsome"', 'content-type': 'text/plain' }).end('authsome proxy: proxy authentication required\n');
}

function fail(res: ServerResponse, error: Error): void {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
  res.end(`authsome proxy: upstream error: ${error.message}\n`);
}
