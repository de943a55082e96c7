// What `list` and the daemon's connection views read of each record — never a secret. The vault
// remembers it between reads (vault/projection-memo.ts), so a profile of 10,000 connections is not
// decrypted for every list, and a daemon starting on it holds no token in memory (issue 18).
import type { ConnectionRecord, Projection, ProviderMetadataRecord, RecordByKind, RecordKind } from '../vault/index.ts';

/** A connection as kept: the fields the states, the refresh timing and the views read. */
export type ConnectionSummaryFields = Pick<ConnectionRecord, 'provider' | 'profile' | 'connection_name' | 'auth_type' | 'status'>
  & Partial<Pick<ConnectionRecord, 'scopes' | 'expires_at' | 'obtained_at' | 'refresh_token' | 'account' | 'metadata'>> & { refresh_expires_at?: unknown };
export type MetadataSummaryFields = Pick<ProviderMetadataRecord, 'default_connection'>;

/** Stands for a refresh token whose presence is all that is read (can the connection renew?). */
const WITHHELD = '[withheld]';

/** The metadata the refresh timing (refresh-policy.ts) and the views read. */
const KEPT_METADATA = ['refresh_expires_from', 'flow', 'generation', 'last_refresh_at', 'last_refresh_error'] as const;

/** Raise the id whenever what is kept changes: a memo of another id is not read. */
export const SUMMARY_PROJECTION: Projection = {
  id: 'summary-2',
  project<K extends RecordKind>(kind: K, stored: RecordByKind[K]): Record<string, unknown> | null {
    if (kind === 'metadata') return { default_connection: (stored as ProviderMetadataRecord).default_connection } satisfies MetadataSummaryFields;
    // A client's presence is what list shows ("configured"); none of its fields.
    if (kind === 'client') return {};
    if (kind !== 'connection') return null;
    const record = stored as ConnectionRecord;
    // Each field as the record has it (a null stays null, a missing one stays missing: list prints
    // what it printed from the record itself), and no more: the memo is read on every list.
    const kept: ConnectionSummaryFields = {
      provider: record.provider, profile: record.profile, connection_name: record.connection_name, auth_type: record.auth_type, status: record.status,
    };
    if (record.scopes !== undefined) kept.scopes = record.scopes;
    if (record.expires_at !== undefined) kept.expires_at = record.expires_at;
    if (record.obtained_at !== undefined) kept.obtained_at = record.obtained_at;
    if (record.refresh_expires_at !== undefined) kept.refresh_expires_at = record.refresh_expires_at;
    if (record.refresh_token) kept.refresh_token = WITHHELD;
    if (record.account?.id || record.account?.label) kept.account = { id: record.account.id, label: record.account.label };
    const metadata: Record<string, unknown> = {};
    for (const name of KEPT_METADATA) if (record.metadata?.[name] !== undefined) metadata[name] = record.metadata[name];
    if (Object.keys(metadata).length > 0) kept.metadata = metadata;
    return kept;
  },
};
