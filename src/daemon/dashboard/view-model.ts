// Turns the broker's answers into what the dashboard may show: every provider and connection
// with state, account, scopes, expiry, last refresh and default — and no secret. Fields are
// copied one by one from an allow-list (never spread), and the one credential hint is re-masked
// here, so a new record field or a broker change cannot carry a token into a page or an API answer.
import type { ConnectionState, ListResult, ProviderSummary } from '../../broker/index.ts';
import { maskSecret } from '../../util/index.ts';
import type { UsageLine } from './usage.ts';

export const STATES: readonly ConnectionState[] = ['available', 'configured', 'connected', 'expired', 'invalid'];

export interface ConnectionView {
  provider: string;
  connection: string;
  auth_type: string;
  state: ConnectionState;
  default: boolean;
  account: string | null;
  scopes: string[];
  /** ISO 8601 (UTC), or null when the token has no known expiry (API keys). */
  expires_at: string | null;
  last_refresh_at: string | null;
  last_refresh_error: string | null;
  /** The credential masked to its vendor prefix at most (`sk-****`), or null. */
  credential: string | null;
  /** The command lines (and library lines) that use it: names only, never a value. */
  usage: UsageLine[];
}

/** A provider as `list` summarizes it, with its connections as the dashboard shows them. */
export type ProviderView = Omit<ProviderSummary, 'connections'> & { connections: ConnectionView[] };

export interface DashboardView {
  /** The profile shown. */
  profile: string;
  /** The profile the daemon acts on (its actions, connect and register); others are shown read-only. */
  activeProfile: string;
  /** Every profile of the home, for the switcher. */
  profiles: string[];
  providers: ProviderView[];
  /** How many rows (connections, or providers without one) are in each state. */
  counts: Record<ConnectionState, number>;
  problems: string[];
}

/** The fields of a (masked) connection record the view reads; anything else is ignored. */
export interface ConnectionDetail {
  access_token?: unknown;
  api_key?: unknown;
  metadata?: unknown;
}

export interface ViewFilter {
  /** Free text over provider name, display name, connection and account. */
  q?: string;
  state?: string;
}

export function buildDashboardView(
  list: ListResult,
  details: (provider: string, connection: string) => ConnectionDetail | null,
  usage: (provider: string, connection: string, isDefault: boolean) => UsageLine[] = () => [],
): DashboardView {
  const providers = list.providers.map((p): ProviderView => ({
    name: p.name,
    display_name: p.display_name,
    auth_type: p.auth_type,
    flow: p.flow,
    source: p.source,
    state: p.state,
    connections: p.connections.map((c): ConnectionView => {
      const detail = details(p.name, c.connection_name);
      const metadata = (detail?.metadata && typeof detail.metadata === 'object' ? detail.metadata : {}) as Record<string, unknown>;
      return {
        provider: p.name,
        connection: c.connection_name,
        auth_type: c.auth_type,
        state: c.status,
        default: c.default,
        account: c.account?.label ?? c.account?.id ?? null,
        scopes: Array.isArray(c.scopes) ? c.scopes.filter((s): s is string => typeof s === 'string') : [],
        expires_at: isoOrNull(c.expires_at),
        last_refresh_at: isoOrNull(metadata.last_refresh_at),
        last_refresh_error: typeof metadata.last_refresh_error === 'string' ? metadata.last_refresh_error : null,
        credential: remask(c.auth_type === 'api_key' ? detail?.api_key : detail?.access_token),
        usage: usage(p.name, c.connection_name, c.default),
      };
    }),
  }));
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<ConnectionState, number>;
  for (const row of rows(providers)) counts[row.state] += 1;
  return { profile: list.profile, activeProfile: list.profile, profiles: [list.profile], providers, counts, problems: [...list.problems] };
}

/** One row per connection, or one per provider without connections (its state: available or configured). */
export interface Row {
  provider: ProviderView;
  connection: ConnectionView | null;
  state: ConnectionState;
}

export function rows(providers: ProviderView[]): Row[] {
  return providers.flatMap((provider): Row[] =>
    provider.connections.length
      ? provider.connections.map((connection) => ({ provider, connection, state: connection.state }))
      : [{ provider, connection: null, state: provider.state }],
  );
}

export function matchesFilter(row: Row, filter: ViewFilter): boolean {
  if (filter.state && STATES.includes(filter.state as ConnectionState) && row.state !== filter.state) return false;
  const q = filter.q?.trim().toLowerCase();
  return !q || searchText(row).includes(q);
}

export function searchText(row: { provider: ProviderView; connection: ConnectionView | null }): string {
  return [row.provider.name, row.provider.display_name, row.connection?.connection ?? '', row.connection?.account ?? ''].join(' ').toLowerCase();
}

/** The providers (with only their matching connections) a filter leaves. */
export function filterView(view: DashboardView, filter: ViewFilter): ProviderView[] {
  return view.providers.flatMap((provider) => {
    const kept = rows([provider]).filter((row) => matchesFilter(row, filter));
    if (kept.length === 0) return [];
    return [{ ...provider, connections: kept.flatMap((row) => (row.connection ? [row.connection] : [])) }];
  });
}

/**
 * The masked form of a credential, whatever the broker handed over: an already masked value
 * (`gho_****`, `****`) passes, anything else is masked here.
 */
function remask(value: unknown): string | null {
  if (typeof value !== 'string' || !value) return null;
  return /^(?:[A-Za-z]{1,6}[_-])?\*{4}$/.test(value) ? value : maskSecret(value);
}

function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || !value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
