// What a long-lived door keeps in memory about each connection: no secrets, just enough to show
// state and plan renewals. Read from the store; kept current by the store's change feed.
import { toRecordTimestamp } from '../util/index.ts';
import { parseKey, type ConnectionRecord } from '../vault/index.ts';
import { connectionState, type ConnectionState } from './connection-state.ts';
import type { BrokerContext } from './context.ts';
import { dueFrom, generationOf } from './refresh-policy.ts';
import { SUMMARY_PROJECTION, type ConnectionSummaryFields } from './summary-projection.ts';

export interface ConnectionView {
  profile: string;
  provider: string;
  connection: string;
  status: ConnectionState;
  expires_at: string | null;
  /** When the refresh token lapses if unused, when known. */
  refresh_expires_at: string | null;
  generation: number;
  last_refresh_at: string | null;
  last_refresh_error: string | null;
  /**
   * The earliest moment the connection may fall due for renewal (refresh-policy.ts dueFrom), so a
   * scan reads only the records that may be due; null when it never falls due by itself (an API
   * key, a connection waiting for a login). A time in the past: due now.
   */
  renew_from: string | null;
}

/** Every connection of every profile, from their summaries: no token is decrypted for it. */
export async function connectionViews(ctx: BrokerContext): Promise<ConnectionView[]> {
  const views: ConnectionView[] = [];
  for (const profile of await ctx.vault.profiles()) {
    const { records } = await ctx.vault.listProjected(profile, `profile:${profile}:`, SUMMARY_PROJECTION);
    for (const { parsed, projected } of records) if (parsed.kind === 'connection') views.push(toView(projected as ConnectionSummaryFields));
  }
  return views;
}

/** The view of one store key; null when it is not a connection, or it is gone. */
export async function connectionViewOf(ctx: BrokerContext, key: string): Promise<ConnectionView | null> {
  const parsed = parseKey(key);
  if (!parsed || parsed.kind !== 'connection') return null;
  const record = await ctx.vault.read(parsed.profile, 'connection', key);
  return record ? toView(record) : null;
}

function toView(record: ConnectionSummaryFields): ConnectionView {
  const metadata = record.metadata ?? {};
  return {
    profile: record.profile,
    provider: record.provider,
    connection: record.connection_name,
    status: connectionState(record),
    expires_at: record.expires_at ?? null,
    refresh_expires_at: (record.refresh_expires_at as string | undefined) ?? null,
    generation: generationOf(record),
    last_refresh_at: typeof metadata.last_refresh_at === 'string' ? metadata.last_refresh_at : null,
    last_refresh_error: typeof metadata.last_refresh_error === 'string' ? metadata.last_refresh_error : null,
    renew_from: renewFrom(record),
  };
}

function renewFrom(record: ConnectionSummaryFields): string | null {
  const from = dueFrom(record);
  if (from === null) return null;
  // Due now (an `expired` connection): any past time says so; the epoch cannot be mistaken for a real one.
  if (from === -Infinity) return toRecordTimestamp(new Date(0));
  return toRecordTimestamp(new Date(from));
}
