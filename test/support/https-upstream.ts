// An in-process HTTPS upstream for the `run` proxy tests, with its own test CA (written to a temp
// file, to hand the authsome process as NODE_EXTRA_CA_CERTS) and one leaf for every test host.
// It records what each request carried, so tests assert on what actually arrived:
//   /echo…                     → JSON of method, path, query, headers and body
//   /oauth…                    → 401 + WWW-Authenticate when the bearer is in `reject` (or `reject` holds '*'), else the echo
//   /sse[?n=3&gap=150]         → text/event-stream, n events `gap` ms apart, each flushed
//   /ws (Upgrade: websocket)   → an RFC 6455 echo (handshake and frames by hand: no dependency);
//                                /ws-refused → 403 with a JSON body instead of 101
//   /repo.git/info/refs?service=git-upload-pack → a minimal smart-HTTP advertisement (no refs)
//   /reflect[?type=&encoding=gzip|br|deflate&slice=N&pad=N&header=1]
//                              → an httpbin-style echo: {"pad", "query", "headers"} as `type`
//                                (application/json), compressed, written N bytes at a time (each
//                                write in its own tick), after N bytes of padding, and with
//                                header=1 the credential headers repeated as X-Echo-<name>
//   /redirect…                 → 302 to /echo/landed with the same query, in Location (relative)
//                                and Content-Location (absolute)
//   /sse-echo?n=3              → text/event-stream, one event per credential header echo; each event
//                                after the first waits for a request to /sse-next
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createPlainServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

x509.cryptoProvider.set(globalThis.crypto);

export const TEST_HOSTS = [
  'api.example.test', 'other.example.test', 'git.example.test', 'third.example.test', 'auth.example.test',
  // A look-alike of api.example.test under someone else's domain (host-pattern tests).
  'api.example.test.attacker.test',
];
export const UPSTREAM_CA_NAME = 'authsome test upstream CA';

export interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** Header names and values as they arrived (repeated headers stay repeated). */
  rawHeaders: string[];
  body: string;
  /** The TLS server name the client asked for. */
  sni: string | null;
  upgrade: boolean;
}

export interface HttpsUpstream {
  /** The HTTPS port, and a plain-HTTP port serving the same routes (to see what plain http:// carries). */
  port: number;
  plainPort: number;
  /** The test CA's PEM, and a file holding it (for NODE_EXTRA_CA_CERTS or curl --cacert). */
  caPem: string;
  caFile: string;
  /** Every request so far, in arrival order (WebSocket upgrades included). */
  requests: Received[];
  /** Requests whose path starts with `prefix`. */
  received(prefix: string): Received[];
  /** Bearer tokens /oauth answers 401 to ('*': every request). */
  reject: Set<string>;
  /** Text messages the WebSocket echo received. */
  wsMessages: string[];
  /** AUTHSOME_PROXY_CONNECT_TO mapping every test host's :443 (and :80) to this server. */
  connectTo(hosts?: string[]): string;
  reset(): void;
  close(): Promise<void>;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const pem = (der: ArrayBuffer, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

async function makeCertificates(hosts: string[]): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const subtle = globalThis.crypto.subtle;
  const caKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: `CN=${UPSTREAM_CA_NAME}, O=authsome tests`, keys: caKeys, signingAlgorithm: ALG,
    notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 7 * 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02', subject: `CN=${hosts[0]}`, issuer: ca.subject, signingKey: caKeys.privateKey, publicKey: leafKeys.publicKey,
    signingAlgorithm: ALG, notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 7 * 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([...hosts.map((value) => ({ type: 'dns' as const, value })), { type: 'ip', value: '127.0.0.1' }]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return {
    caPem: ca.toString('pem').trimEnd() + '\n',
    certPem: leaf.toString('pem').trimEnd() + '\n',
    keyPem: pem(await subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY'),
  };
}

/** With a Content-Length, as most APIs answer small JSON (not chunked). */
function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

/** A pkt-line: 4 hex digits of length (itself included), then the payload. */
const pktLine = (text: string) => (Buffer.byteLength(text) + 4).toString(16).padStart(4, '0') + text;

/** One unmasked server frame (RFC 6455 §5.2), payloads under 64 KiB. */
function frame(opcode: number, payload: Buffer): Buffer {
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}

/** Reads complete client frames off `buffer` (masked, as clients must send them); returns what is left. */
function readFrames(buffer: Buffer, onFrame: (opcode: number, payload: Buffer) => void): Buffer {
  for (;;) {
    if (buffer.length < 2) return buffer;
    const opcode = buffer[0]! & 0x0f;
    const masked = (buffer[1]! & 0x80) !== 0;
    let length = buffer[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffer.length < 4) return buffer;
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) return buffer;
      length = Number(buffer.readBigUInt64BE(2));
      offset = 10;
    }
    const maskAt = offset;
    if (masked) offset += 4;
    if (buffer.length < offset + length) return buffer;
    const payload = Buffer.from(buffer.subarray(offset, offset + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buffer[maskAt + (i % 4)]!;
    buffer = buffer.subarray(offset + length);
    onFrame(opcode, payload);
  }
}

export async function startHttpsUpstream(hosts: string[] = TEST_HOSTS): Promise<HttpsUpstream> {
  const { caPem, certPem, keyPem } = await makeCertificates(hosts);
  const dir = mkdtempSync(join(tmpdir(), 'upstream-'));
  const caFile = join(dir, 'upstream-ca.pem');
  writeFileSync(caFile, caPem);
  const requests: Received[] = [];
  const reject = new Set<string>();
  const wsMessages: string[] = [];
  const sockets = new Set<Socket>();
  /** /sse-echo streams waiting for /sse-next to send their next event. */
  const sseWaiting: Array<() => void> = [];
  /** The request headers that carry credentials, for the echo routes. */
  const credentialHeaders = (headers: IncomingMessage['headers']) => Object.fromEntries(
    Object.entries(headers).filter(([name]) => ['authorization', 'x-api-key'].includes(name)),
  );

  const record = (req: IncomingMessage, body: string, upgrade: boolean): Received => {
    const url = new URL(req.url ?? '/', 'https://upstream.invalid');
    const entry: Received = {
      method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers,
      rawHeaders: req.rawHeaders, body, sni: ((req.socket as TLSSocket).servername as string | false | undefined) || null, upgrade,
    };
    requests.push(entry);
    return entry;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen = record(req, Buffer.concat(chunks).toString('utf8'), false);
      const echo = { method: seen.method, path: seen.path, query: seen.query, headers: seen.headers, body: seen.body };
      if (seen.path === '/sse') {
        const count = Number(seen.query.n ?? 3);
        const gap = Number(seen.query.gap ?? 150);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        let n = 0;
        let timer: NodeJS.Timeout;
        const tick = () => {
          n++;
          res.write(`id: ${n}\nevent: tick\ndata: event ${n}\n\n`);
          if (n < count) timer = setTimeout(tick, gap);
          else res.end();
        };
        timer = setTimeout(tick, 50);
        res.on('close', () => clearTimeout(timer));
      } else if (seen.path === '/reflect') {
        const pad = 'x'.repeat(Number(seen.query.pad ?? 0));
        let body: Buffer = Buffer.from(JSON.stringify({ pad, query: seen.query, headers: seen.headers }));
        const headers: Record<string, string> = { 'content-type': seen.query.type ?? 'application/json' };
        const encoding = seen.query.encoding;
        if (encoding) {
          body = encoding === 'gzip' ? gzipSync(body) : encoding === 'br' ? brotliCompressSync(body) : deflateSync(body);
          headers['content-encoding'] = encoding;
        }
        if (seen.query.header) {
          for (const [name, value] of Object.entries(credentialHeaders(seen.headers))) headers[`x-echo-${name}`] = String(value);
        }
        const slice = Number(seen.query.slice ?? 0);
        if (!slice) return void res.writeHead(200, { ...headers, 'content-length': String(body.length) }).end(body);
        res.writeHead(200, headers);
        let at = 0;
        const next = () => {
          if (at >= body.length) return void res.end();
          res.write(body.subarray(at, at + slice));
          at += slice;
          setImmediate(next);
        };
        next();
      } else if (seen.path.startsWith('/redirect')) {
        const query = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?')) : '';
        res.writeHead(302, { location: `/echo/landed${query}`, 'content-location': `https://${seen.headers.host}/echo/landed${query}`, 'content-length': '0' }).end();
      } else if (seen.path === '/sse-echo') {
        const count = Number(seen.query.n ?? 3);
        const echo = JSON.stringify(credentialHeaders(seen.headers));
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let n = 0;
        const send = () => {
          n++;
          res.write(`id: ${n}\nevent: echo\ndata: ${echo}\n\n`);
          if (n < count) sseWaiting.push(send);
          else res.end();
        };
        send();
      } else if (seen.path === '/sse-next') {
        const waiting = sseWaiting.shift();
        waiting?.();
        json(res, 200, { released: Boolean(waiting) });
      } else if (seen.path === '/repo.git/info/refs') {
        if (seen.query.service !== 'git-upload-pack') return json(res, 403, { error: 'dumb HTTP not served' });
        res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement', 'cache-control': 'no-cache' });
        // Protocol v0: the service line, a flush, then no refs (an empty repository) and a flush.
        res.end(pktLine('# service=git-upload-pack\n') + '0000' + '0000');
      } else if (seen.path.startsWith('/oauth')) {
        const bearer = /^Bearer\s+(\S+)$/i.exec(seen.headers.authorization ?? '')?.[1];
        if (reject.has('*') || (bearer && reject.has(bearer))) {
          return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
        }
        json(res, 200, echo);
      } else if (seen.path.startsWith('/echo')) {
        json(res, 200, echo);
      } else {
        json(res, 404, { error: 'not found', path: seen.path });
      }
    });
  };
  const server: Server = createServer({ cert: certPem, key: keyPem, ALPNProtocols: ['http/1.1'] }, handle);
  const plain = createPlainServer(handle);

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const seen = record(req, '', true);
    const key = req.headers['sec-websocket-key'];
    if (seen.path === '/ws-refused') {
      const body = JSON.stringify({ error: 'upgrade refused' });
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    if (seen.path !== '/ws' || req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let pending: Buffer = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      pending = readFrames(Buffer.concat([pending, data]), (opcode, payload) => {
        if (opcode === 0x1) {
          wsMessages.push(payload.toString('utf8'));
          socket.write(frame(0x1, payload));
        } else if (opcode === 0x2) socket.write(frame(0x2, payload));
        else if (opcode === 0x9) socket.write(frame(0xa, payload));
        else if (opcode === 0x8) socket.end(frame(0x8, payload));
      });
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    if (head.length) onData(head);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  plain.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const plainPort = (plain.address() as AddressInfo).port;
  return {
    port,
    plainPort,
    caPem,
    caFile,
    requests,
    received: (prefix) => requests.filter((r) => r.path.startsWith(prefix)),
    reject,
    wsMessages,
    connectTo: (only = hosts) => only.flatMap((host) => [`${host}:443:127.0.0.1:${port}`, `${host}:80:127.0.0.1:${plainPort}`]).join(','),
    reset() {
      requests.length = 0;
      wsMessages.length = 0;
      reject.clear();
    },
    close: async () => {
      const closed = Promise.all([server, plain].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      server.closeAllConnections();
      plain.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
