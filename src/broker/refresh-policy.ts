// When a connection's access token should be renewed (refresh-protocol.md step 1): inside the
// window of min(300 s, half its lifetime) before expiry — 300 s for ordinary hour-long tokens,
// while a 2-minute token is not refreshed on every call — or when a transient failure left it
// `expired`. API keys never refresh; tokens with no known expiry are used as they are.
import { parseTimestamp, toRecordTimestamp } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';

const DEFAULT_WINDOW_MS = 300_000;

export function refreshWindowMs(record: Partial<Pick<ConnectionRecord, 'expires_at' | 'obtained_at'>>): number {
  const expiresAt = parseTimestamp(record.expires_at);
  const obtainedAt = parseTimestamp(record.obtained_at);
  if (!expiresAt || !obtainedAt) return DEFAULT_WINDOW_MS;
  const lifetime = expiresAt.getTime() - obtainedAt.getTime();
  return lifetime > 0 ? Math.min(DEFAULT_WINDOW_MS, lifetime / 2) : DEFAULT_WINDOW_MS;
}

/** Whether the record can be renewed at all: a refresh token, or a client credentials grant. */
export function canRenew(record: Pick<ConnectionRecord, 'auth_type'> & Partial<Pick<ConnectionRecord, 'refresh_token' | 'metadata'>>): boolean {
  return record.auth_type === 'oauth2' && (Boolean(record.refresh_token) || isClientCredentials(record));
}

export function isClientCredentials(record: Partial<Pick<ConnectionRecord, 'metadata'>>): boolean {
  return record.metadata?.flow === 'client_credentials';
}

/** The provider rejected the connection (`invalid`; the Python's `revoked`): it waits for a new login. */
export function isRejected(record: Pick<ConnectionRecord, 'status'>): boolean {
  return record.status === 'invalid' || record.status === 'revoked';
}

/** The most warning a lapsing refresh token gets: a week. */
const LAPSE_WARNING_MS = 7 * 24 * 3600_000;

/** What refreshLapse reads of a connection. */
export type LapseFields = Pick<ConnectionRecord, 'auth_type'> & Partial<Pick<ConnectionRecord, 'refresh_token' | 'obtained_at' | 'metadata'>> & { refresh_expires_at?: unknown };
/** What the renewal timing (dueFrom) reads: a record, or its summary (summary-projection.ts). */
export type RenewalFields = LapseFields & Pick<ConnectionRecord, 'status'> & Partial<Pick<ConnectionRecord, 'expires_at'>>;

export interface RefreshLapse {
  /** When the refresh token lapses (record.refresh_expires_at). */
  at: Date;
  /** Milliseconds left (negative once lapsed). */
  leftMs: number;
  /** The warning margin: the last quarter of its window, at most 7 days. */
  marginMs: number;
  /** Inside the margin. */
  soon: boolean;
}

/**
 * When the connection's refresh token lapses and whether that is soon: within a quarter of the
 * window from when that date last moved later (metadata.refresh_expires_from) to the date, at most
 * 7 days — a week's notice for a 90-day token, 15 minutes for a one-hour window.
 */
export function refreshLapse(record: LapseFields, now = Date.now()): RefreshLapse | null {
  if (record.auth_type !== 'oauth2' || !record.refresh_token) return null;
  const at = parseTimestamp(record.refresh_expires_at as string | undefined);
  if (!at) return null;
  const from = parseTimestamp((record.metadata?.refresh_expires_from as string | undefined) ?? record.obtained_at);
  const window = from ? at.getTime() - from.getTime() : Infinity;
  const margin = Math.min(LAPSE_WARNING_MS, Math.max(0, window / 4));
  const leftMs = at.getTime() - now;
  return { at, leftMs, marginMs: margin, soon: leftMs <= margin };
}

/**
 * A refresh token that lapses soon is kept alive by a refresh — every caller's, the daemon's
 * included — once: a refresh that moves the date ends it (an idle window starts again), and one
 * that does not (a hard end) is not repeated, since the token response is then inside the margin.
 */
function needsKeepAlive(record: ConnectionRecord, now: number): boolean {
  const lapse = refreshLapse(record, now);
  if (!lapse?.soon || lapse.leftMs <= 0) return false;
  const obtained = parseTimestamp(record.obtained_at)?.getTime() ?? 0;
  return obtained < lapse.at.getTime() - lapse.marginMs;
}

/** Due for renewal now, or within `lookaheadMs` (the daemon refreshes a little ahead of callers). */
export function isDue(record: ConnectionRecord, now = Date.now(), lookaheadMs = 0): boolean {
  if (record.auth_type !== 'oauth2') return false;
  if (record.status === 'expired') return true;
  if (needsKeepAlive(record, now)) return true;
  const expiresAt = parseTimestamp(record.expires_at);
  if (!expiresAt) return false;
  const window = refreshWindowMs(record);
  // Looking ahead by at most half the window: a short-lived token is not renewed on every scan.
  return expiresAt.getTime() - now <= window + Math.min(lookaheadMs, window / 2);
}

/**
 * The earliest moment isDue can hold for this record, whatever the look-ahead (it adds at most half
 * the window): what a long-lived door keeps per connection so that a scan reads only the records
 * that may be due, not every record of every profile (issue 18). Never later than isDue's answer;
 * it may be earlier (a keep-alive that ended, a token with nothing left to renew it): such a record
 * is read and checked again, never skipped. Null when the record can never fall due: an API key, a
 * connection waiting for a login, or nothing to renew with. -Infinity: due now (`expired`).
 */
export function dueFrom(record: RenewalFields): number | null {
  if (!canRenew(record) || isRejected(record)) return null;
  if (record.status === 'expired') return -Infinity;
  let earliest = Infinity;
  const lapse = refreshLapse(record);
  if (lapse) earliest = lapse.at.getTime() - lapse.marginMs;
  const expiresAt = parseTimestamp(record.expires_at);
  if (expiresAt) {
    const window = refreshWindowMs(record);
    earliest = Math.min(earliest, expiresAt.getTime() - window - window / 2);
  }
  return earliest === Infinity ? null : earliest;
}

/** The access token still works (not past expires_at), whatever the stored status says. */
export function accessTokenUsable(record: ConnectionRecord, now = Date.now()): boolean {
  if (!record.access_token) return false;
  const expiresAt = parseTimestamp(record.expires_at);
  return !expiresAt || expiresAt.getTime() > now;
}

/** The refresh bookkeeping kept in the record's metadata (which the Python implementation preserves). */
export function generationOf(record: Partial<Pick<ConnectionRecord, 'metadata'>>): number {
  const value = record.metadata?.generation;
  return typeof value === 'number' && Number.isInteger(value) ? value : 0;
}

/** Someone else renewed the record since `seen` was read. */
export function changedSince(seen: ConnectionRecord, current: ConnectionRecord): boolean {
  return generationOf(current) !== generationOf(seen) || current.refresh_token !== seen.refresh_token || current.access_token !== seen.access_token;
}

/**
 * The warning for a refresh token inside its lapse margin, or null. `afterAccess`: an access call
 * has just been through the refresh protocol, which keeps a lapsing token alive when a refresh can.
 */
export function lapseWarning(record: ConnectionRecord, afterAccess: boolean, now = Date.now()): { text: string; message: string; fix: string } | null {
  if (isRejected(record)) return null;
  const lapse = refreshLapse(record, now);
  if (!lapse?.soon) return null;
  const who = `${record.provider} (${record.connection_name})`;
  const login = `authsome login ${record.provider} --force${record.connection_name === 'default' ? '' : ` --connection ${record.connection_name}`}`;
  const when = toRecordTimestamp(lapse.at);
  const warning = (message: string, fix: string) => ({ text: `${message}; ${fix}`, message, fix });
  if (lapse.leftMs <= 0) return warning(`the refresh token of ${who} lapsed at ${when}`, `log in again: ${login}`);
  const left = `the refresh token of ${who} lapses at ${when} (in ${inWords(lapse.leftMs)})`;
  if (afterAccess) return warning(`${left}, and a refresh did not move that date`, `log in again before then: ${login}`);
  return warning(left, `a refresh may move that date (authsome refresh ${record.provider}${record.connection_name === 'default' ? '' : ` --connection ${record.connection_name}`}), else log in again before then: ${login}`);
}

function inWords(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.round(hours / 24)} days`;
}
