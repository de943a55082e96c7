// What the child gets when a routed request cannot carry its credential (a refresh failed, the
// connection was removed, the store is down): an answer it can act on instead of a hang or a bare
// 502. A credential only a new login can fix is a 401 — what the API itself would say of a dead
// token — whose JSON body names the provider, the connection, the reason and the command to run;
// a store outage is a 503 to retry. Built from the broker's error: messages, never secrets.
import type { ServerResponse } from 'node:http';
import { CODES, isAuthsomeError, type ErrorCode } from '../util/index.ts';
import type { Route } from './routes.ts';

/** The `error` of every refusal body, so an agent can tell it from the upstream's own answers. */
export const REFUSAL_ERROR = 'authsome_credential_unavailable';
/** A store that cannot be reached retries for about 4 s per operation; ask the child to wait a little longer. */
const RETRY_AFTER_S = 5;

export interface CredentialRefusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The body of a refusal (what README documents), one JSON object. */
export interface RefusalBody {
  error: typeof REFUSAL_ERROR;
  /** The broker's stable error code: refresh_failed, credential_missing, store_unavailable, … */
  code: ErrorCode;
  provider: string;
  connection: string;
  message: string;
  /** The next command to run, e.g. `authsome login github --force`. */
  hint?: string;
}

/** The answer to a routed request whose credential could not be had; `redact` masks known secrets. */
export function credentialRefusal(error: unknown, route: Route, redact: (text: string) => string = (text) => text): CredentialRefusal {
  const known = isAuthsomeError(error) ? error : null;
  const code: ErrorCode = known?.code ?? 'internal';
  const status = statusFor(error);
  const message = redact(error instanceof Error ? error.message : String(error));
  const body: RefusalBody = {
    error: REFUSAL_ERROR,
    code,
    provider: known?.provider ?? route.spec.provider,
    connection: known?.connection ?? route.spec.connection,
    message,
    ...(known?.hint ? { hint: redact(known.hint) } : {}),
  };
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  // RFC 9110 §15.5.2: a 401 names how to authenticate. RFC 6750 §3's Bearer error is what OAuth
  // clients already read; the description repeats the message in the characters §3 allows.
  if (status === 401) headers['www-authenticate'] = `Bearer realm="authsome", error="invalid_token", error_description="${quotable(message)}"`;
  if (status === 503) headers['retry-after'] = String(RETRY_AFTER_S);
  return { status, headers, body: JSON.stringify(body) + '\n' };
}

/** The codes of a credential that is gone or dead: a new login (after a `register`, for a removed provider) fixes them. */
const NEEDS_LOGIN: ReadonlySet<ErrorCode> = new Set(['refresh_failed', 'credential_missing', 'authentication_failed', 'provider_not_found']);

/**
 * 401 when a login fixes it (a refresh the provider rejected or that could not renew an expired
 * token, a connection removed); 503 when the store is out of reach or unreadable (exit code 7,
 * a refresh that failed because of it included); 502 for anything else.
 */
function statusFor(error: unknown): number {
  if (!isAuthsomeError(error)) return 502;
  if (storeOutage(error) || CODES[error.code][0] === CODES.store_unavailable[0]) return 503;
  return NEEDS_LOGIN.has(error.code) ? 401 : 502;
}

/** The broker reports a refresh that could not reach the store as refresh_failed, caused by store_unavailable. */
function storeOutage(error: { code: string; cause?: unknown }): boolean {
  return error.code === 'store_unavailable' || (isAuthsomeError(error.cause) && storeOutage(error.cause));
}

/** RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E — no quote, no backslash, ASCII. */
function quotable(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?');
}

/** Sends a refusal on a decrypted request. */
export function sendRefusal(res: ServerResponse, refusal: CredentialRefusal): void {
  res.writeHead(refusal.status, { ...refusal.headers, 'content-length': String(Buffer.byteLength(refusal.body)) }).end(refusal.body);
}

/** The same refusal as raw HTTP/1.1, for a WebSocket upgrade that never reaches the upstream. */
export function rawRefusal(refusal: CredentialRefusal): string {
  const reason = refusal.status === 401 ? 'Unauthorized' : refusal.status === 503 ? 'Service Unavailable' : 'Bad Gateway';
  const headers = Object.entries({ ...refusal.headers, 'content-length': String(Buffer.byteLength(refusal.body)), connection: 'close' })
    .map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${refusal.status} ${reason}\r\n${headers}\r\n${refusal.body}`;
}
