// The one limit on request bodies the daemon reads — browser forms, dashboard actions, the socket
// API — counted while the body streams, whether it declares a Content-Length or comes chunked
// (RFC 9112 §7.1, no length known up front): anything larger is answered 413 (RFC 9110 §15.5.14)
// with no more than the limit ever held in memory. Its port is reachable by every local user, and
// a body read whole before it was measured once took the daemon to 2.4 GB (issue 14).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/** Forms, actions and session specs are a few KiB at most; a provider definition pasted into the dashboard fits too. */
export const MAX_BODY_BYTES = 64 * 1024;

/** How long a refused body may keep streaming (read and dropped) before its connection is closed. */
const LINGER_MS = 1_000;

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit / 1024} KiB`);
  }
}

/** For hono routes (the browser port): refuses an oversized body before any route reads it. */
export function limitBodies<C extends Context>(onTooLarge: (c: C, message: string) => Response): MiddlewareHandler {
  // hono's bodyLimit trusts a Content-Length (Node's parser never delivers more than it says) and
  // counts a chunked body into a buffer of at most maxSize; the rest is dropped by the adaptor's drain.
  return bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => onTooLarge(c as C, new BodyTooLarge(MAX_BODY_BYTES).message) });
}

/**
 * Reads a node:http request body of at most `limit` bytes. Beyond it, the buffered part is
 * dropped and the rest read and discarded (so the client, still sending, reads the 413 rather
 * than a reset), and BodyTooLarge is thrown for the caller to answer.
 */
export function readLimitedBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) refuse();
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    function refuse(): void {
      cleanup();
      chunks.length = 0;
      reject(new BodyTooLarge(limit));
    }
    // A declared length over the limit is refused before a byte is read.
    if (Number(req.headers['content-length'] ?? 0) > limit) return refuse();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * Answers 413 to a body refused by readLimitedBody, then drains what still arrives (dropped, never
 * kept) for a moment before closing the connection: closing it with unread data would reset it,
 * and the client, still sending, could lose the answer.
 */
export function answerTooLarge(req: IncomingMessage, res: ServerResponse, body: unknown): void {
  req.on('data', () => {});
  req.resume();
  res.writeHead(413, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
}
