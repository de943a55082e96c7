// When a connection's access token should be renewed (refresh-protocol.md step 1): inside the
// window of min(300 s, half its lifetime) before expiry — 300 s for ordinary hour-long tokens,
// while a 2-minute token is not refreshed on every call — or when a transient failure left it
// `expired`. API keys never refresh; tokens with no known expiry are used as they are.
import { parseTimestamp } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';

const DEFAULT_WINDOW_MS = 300_000;

export function refreshWindowMs(record: ConnectionRecord): number {
  const expiresAt = parseTimestamp(record.expires_at);
  const obtainedAt = parseTimestamp(record.obtained_at);
  if (!expiresAt || !obtainedAt) return DEFAULT_WINDOW_MS;
  const lifetime = expiresAt.getTime() - obtainedAt.getTime();
  return lifetime > 0 ? Math.min(DEFAULT_WINDOW_MS, lifetime / 2) : DEFAULT_WINDOW_MS;
}

/** Whether the record can be renewed at all: a refresh token, or a client credentials grant. */
export function canRenew(record: ConnectionRecord): boolean {
  return record.auth_type === 'oauth2' && (Boolean(record.refresh_token) || isClientCredentials(record));
}

export function isClientCredentials(record: ConnectionRecord): boolean {
  return record.metadata?.flow === 'client_credentials';
}

/** The provider rejected the connection (`invalid`; the Python's `revoked`): it waits for a new login. */
export function isRejected(record: ConnectionRecord): boolean {
  return record.status === 'invalid' || record.status === 'revoked';
}

/** Due for renewal now, or within `lookaheadMs` (the daemon refreshes a little ahead of callers). */
export function isDue(record: ConnectionRecord, now = Date.now(), lookaheadMs = 0): boolean {
  if (record.auth_type !== 'oauth2') return false;
  if (record.status === 'expired') return true;
  const expiresAt = parseTimestamp(record.expires_at);
  if (!expiresAt) return false;
  const window = refreshWindowMs(record);
  // Looking ahead by at most half the window: a short-lived token is not renewed on every scan.
  return expiresAt.getTime() - now <= window + Math.min(lookaheadMs, window / 2);
}

/** The access token still works (not past expires_at), whatever the stored status says. */
export function accessTokenUsable(record: ConnectionRecord, now = Date.now()): boolean {
  if (!record.access_token) return false;
  const expiresAt = parseTimestamp(record.expires_at);
  return !expiresAt || expiresAt.getTime() > now;
}

/** The refresh bookkeeping kept in the record's metadata (which the Python implementation preserves). */
export function generationOf(record: ConnectionRecord): number {
  const value = record.metadata?.generation;
  return typeof value === 'number' && Number.isInteger(value) ? value : 0;
}

/** Someone else renewed the record since `seen` was read. */
export function changedSince(seen: ConnectionRecord, current: ConnectionRecord): boolean {
  return generationOf(current) !== generationOf(seen) || current.refresh_token !== seen.refresh_token || current.access_token !== seen.access_token;
}
