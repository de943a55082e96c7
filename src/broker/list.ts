// `list`: every provider (bundled, custom, or only present in the store) with its state and
// connections in the active profile.
import type { ProviderEntry } from '../providers/index.ts';
import { keys } from '../vault/index.ts';
import { connectionState, type ConnectionState } from './connection-state.ts';
import type { BrokerContext } from './context.ts';
import { isRejected, refreshLapse } from './refresh-policy.ts';
import { SUMMARY_PROJECTION, type ConnectionSummaryFields as ListedConnection, type MetadataSummaryFields as ListedMetadata } from './summary-projection.ts';

export interface ConnectionSummary {
  connection_name: string;
  auth_type: string;
  status: ConnectionState;
  default: boolean;
  scopes?: string[] | null;
  /** As the record keeps it (`…Z`: the one timestamp format of every output; Python's list printed `+00:00`). */
  expires_at?: string | null;
  /** When the refresh token lapses if unused; present only when known. */
  refresh_expires_at?: string | null;
  /** It lapses within its warning margin (the last quarter of its window, at most 7 days). */
  refresh_lapses_soon?: boolean;
  account?: { id: string | null; label: string | null };
}

export interface ProviderSummary {
  name: string;
  display_name: string;
  auth_type: string;
  flow: string | null;
  /** `unknown`: the store holds records for a provider with no definition. */
  source: 'bundled' | 'custom' | 'unknown';
  state: ConnectionState;
  connections: ConnectionSummary[];
}

export interface ListResult {
  profile: string;
  providers: ProviderSummary[];
  /** Damaged records and provider files, each with what failed. */
  problems: string[];
}

export async function listProviders(ctx: BrokerContext): Promise<ListResult> {
  const profile = ctx.requireProfileForRead();
  const [{ entries, problems: fileProblems }, { records, problems: recordProblems }] = await Promise.all([
    ctx.registry.all(),
    ctx.vault.listProjected(profile, keys.profilePrefix(profile), SUMMARY_PROJECTION),
  ]);

  const byProvider = new Map<string, Slot>();
  for (const { parsed, projected } of records) {
    const slot = byProvider.get(parsed.provider) ?? { connections: [] };
    if (parsed.kind === 'connection') slot.connections.push(projected as ListedConnection);
    else if (parsed.kind === 'metadata') slot.metadata = projected as ListedMetadata;
    else if (parsed.kind === 'client') slot.client = true;
    byProvider.set(parsed.provider, slot);
  }

  // One instant for the whole list: every connection's state is told against the same clock.
  const now = new Date();
  const summaries: ProviderSummary[] = entries.map((entry) => summarize(entry, byProvider.get(entry.definition.name), now));
  const known = new Set(entries.map((entry) => entry.definition.name));
  for (const [name, slot] of byProvider) {
    if (!known.has(name)) summaries.push(summarize(null, slot, now, name));
  }
  summaries.sort((a, b) => a.name.localeCompare(b.name));

  return {
    profile,
    providers: summaries,
    problems: [...fileProblems.map((p) => p.error.message), ...recordProblems.map((p) => p.error.message)],
  };
}

interface Slot {
  connections: ListedConnection[];
  metadata?: ListedMetadata;
  client?: true;
}

function summarize(entry: ProviderEntry | null, slot: Slot | undefined, now: Date, fallbackName = ''): ProviderSummary {
  const definition = entry?.definition;
  const name = definition?.name ?? fallbackName;
  const defaultName = slot?.metadata?.default_connection ?? 'default';
  const connections = (slot?.connections ?? []).map((record): ConnectionSummary => {
    const status = connectionState(record, now);
    const isDefault = record.connection_name === defaultName;
    // Two literals rather than fields added to one: an object given fields past its literal's
    // takes a second allocation for them, 10,000 times in a large list (issue 18). The fields and
    // their order are the same either way. Scopes are copied: the memo shares one frozen array
    // between the connections that have the same, and the result is the library caller's to change.
    const summary: ConnectionSummary = record.auth_type === 'oauth2'
      ? { connection_name: record.connection_name, auth_type: record.auth_type, status, default: isDefault, scopes: record.scopes ? [...record.scopes] : record.scopes, expires_at: record.expires_at ?? null }
      : { connection_name: record.connection_name, auth_type: record.auth_type, status, default: isDefault };
    if (record.auth_type === 'oauth2') {
      const lapse = refreshLapse(record, now.getTime());
      if (lapse) {
        summary.refresh_expires_at = record.refresh_expires_at as string;
        summary.refresh_lapses_soon = lapse.soon && !isRejected(record);
      }
    }
    if (record.account && (record.account.id || record.account.label)) summary.account = { id: record.account.id, label: record.account.label };
    return summary;
  });
  const main = connections.find((c) => c.default) ?? connections[0];
  return {
    name,
    display_name: definition?.display_name ?? name,
    auth_type: definition?.auth_type ?? slot?.connections[0]?.auth_type ?? 'unknown',
    flow: definition?.flow ?? null,
    source: entry ? entry.source : 'unknown',
    state: main ? main.status : slot?.client ? 'configured' : 'available',
    connections,
  };
}
