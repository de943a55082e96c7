// The forms a connection record takes through one refresh (refresh-protocol.md steps 4–7): the
// pending form written under the lease before the refresh token is spent, then the refreshed or
// the failed form written over it — each only over the pending form this attempt wrote. Every
// form moves the generation on, so a holder whose lease was taken over can never write again.
import type { TokenSet } from '../oauth/index.ts';
import { toRecordTimestamp } from '../util/index.ts';
import { orderRecord, keys, type ConnectionRecord, type ProviderStateRecord, type VaultTransaction } from '../vault/index.ts';
import { generationOf } from './refresh-policy.ts';

/** The mark of a refresh in flight, in the record's metadata (which the Python implementation keeps). */
export interface RefreshPending {
  /** The lease holder that wrote it (lease-holder.ts). */
  holder: string;
  since: string;
  /**
   * Padding as long as the tokens and then some: the pending form is written (and its space
   * reserved, store.reuseWrittenSpace) before the token request, so the refreshed form — new
   * tokens, no padding — is no larger and fits where it went, even on a disk that filled meanwhile.
   */
  reserve: string;
}

export function pendingOf(record: ConnectionRecord): RefreshPending | null {
  const value = record.metadata?.refresh_pending as RefreshPending | undefined;
  return value && typeof value === 'object' && typeof value.holder === 'string' ? value : null;
}

/** The record as this attempt's lease holder marks it before spending the refresh token. */
export function pendingForm(current: ConnectionRecord, holder: string, now: string): ConnectionRecord {
  const tokens = (current.access_token?.length ?? 0) + (current.refresh_token?.length ?? 0);
  const reserve = '.'.repeat(tokens + 512);
  return orderRecord('connection', {
    ...current,
    metadata: { ...current.metadata, generation: generationOf(current) + 1, refresh_pending: { holder, since: now, reserve } satisfies RefreshPending },
  });
}

/** Exactly the pending form this attempt wrote: same generation, same holder, same tokens. */
export function isOwnPending(latest: ConnectionRecord, pending: ConnectionRecord): boolean {
  return generationOf(latest) === generationOf(pending)
    && pendingOf(latest)?.holder === pendingOf(pending)?.holder
    && latest.refresh_token === pending.refresh_token && latest.access_token === pending.access_token;
}

/** The renewed record (step 6). No refresh token in the answer: the old one stays (RFC 6749 §6). */
export function refreshedForm(latest: ConnectionRecord, tokens: TokenSet, now: string, kept: Record<string, string> = {}): ConnectionRecord {
  const { refresh_pending: _pending, ...metadata } = latest.metadata ?? {};
  return withRefreshExpiry(orderRecord('connection', {
    ...latest,
    // A route value the refresh answer repeats (Salesforce's instance_url) replaces the stored one; one it leaves out stays.
    ...kept,
    status: 'connected',
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? latest.refresh_token,
    token_type: tokens.token_type ?? latest.token_type,
    expires_at: tokens.expires_at ? toRecordTimestamp(tokens.expires_at) : null,
    obtained_at: toRecordTimestamp(tokens.obtained_at),
    scopes: tokens.scopes ?? latest.scopes,
    metadata: { ...metadata, generation: generationOf(latest) + 1, last_refresh_at: now, last_refresh_error: null, last_refresh_error_description: null },
  }), tokens.refresh_expires_at, latest, now);
}

/**
 * The record with its `refresh_expires_at` (beyond the Python record, which keeps unknown fields):
 * when the refresh token lapses if left unused; left out when nothing says. Beside it,
 * metadata.refresh_expires_from: when that date last moved later — the start of the window whose
 * last quarter (at most 7 days) is warned about and kept alive (refresh-policy.ts).
 */
export function withRefreshExpiry(record: ConnectionRecord, at: Date | null, previous: ConnectionRecord | null, now: string): ConnectionRecord {
  const { refresh_expires_at: _stale, ...rest } = record;
  const { refresh_expires_from: _from, ...metadata } = record.metadata ?? {};
  if (!at) return orderRecord('connection', { ...rest, metadata });
  const before = typeof previous?.refresh_expires_at === 'string' ? Date.parse(previous.refresh_expires_at) : NaN;
  const moved = !(at.getTime() <= before);
  const from = moved ? now : (previous?.metadata?.refresh_expires_from as string | undefined) ?? now;
  return orderRecord('connection', { ...rest, refresh_expires_at: toRecordTimestamp(at), metadata: { ...metadata, refresh_expires_from: from } });
}

/** The record after a failed attempt (step 7): `expired` (retry) or `invalid` (log in again); every token kept. */
export function failedForm(latest: ConnectionRecord, rejected: boolean, reason: string, description: string | null, now: string): ConnectionRecord {
  const { refresh_pending: _pending, ...metadata } = latest.metadata ?? {};
  return orderRecord('connection', {
    ...latest,
    status: rejected ? 'invalid' : 'expired',
    metadata: { ...metadata, generation: generationOf(latest) + 1, last_refresh_at: now, last_refresh_error: reason, last_refresh_error_description: description },
  });
}

/** The per-provider `state` record, kept as the Python implementation keeps it. */
export async function writeProviderState(tx: VaultTransaction, profile: string, provider: string, at: string, error: string | null): Promise<void> {
  const key = keys.state(profile, provider);
  const existing = await tx.read('state', key);
  const state: ProviderStateRecord = orderRecord('state', { ...(existing ?? { metadata: {} }), schema_version: 2, provider, profile, last_refresh_at: at, last_refresh_error: error });
  await tx.write('state', key, state);
}
