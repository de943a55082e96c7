// The audit log as the dashboard shows it: entries filtered by provider, event, outcome and time,
// refreshes and their failures counted per hour or per day for the chart, and the `run` proxy's
// requests summed per host. The log never holds secrets; still, only known-harmless fields are
// copied, and fields named like credentials are dropped, so the page can never become a leak.
import type { Authsome } from '../../broker/index.ts';

type AuditEntry = ReturnType<Authsome['log']>[number];

export type Outcome = 'success' | 'failure';

export interface AuditFilter {
  provider?: string;
  event?: string;
  outcome?: Outcome;
  /** Inclusive lower and exclusive upper bound, epoch ms. */
  fromMs?: number;
  toMs?: number;
}

export interface AuditRow {
  timestamp: string;
  event: string;
  provider: string | null;
  connection: string | null;
  outcome: Outcome | null;
  /** The other fields as `key=value`, shortened. */
  detail: string;
}

export interface ChartBucket {
  /** ISO start of the hour or day (UTC). */
  start: string;
  success: number;
  failure: number;
}

export interface ProxyHostCount {
  host: string;
  requests: number;
  runs: number;
  /** Whether the proxy added credentials there (false: a blind tunnel). */
  intercepted: boolean;
}

export interface AuditView {
  rows: AuditRow[];
  /** Entries that matched before the page limit. */
  matched: number;
  events: string[];
  providers: string[];
  /** `from`/`to`: the span the bars cover (the first bar's start, the last bar's end), ISO UTC. */
  chart: { unit: 'hour' | 'day'; from: string; to: string; buckets: ChartBucket[]; success: number; failure: number };
  proxy: ProxyHostCount[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_ROWS = 200;
/** Field names never shown, whatever an entry holds (the log has none of them; a foreign line might). */
const HIDDEN = /^(code|.*token|.*secret|password|api_key|authorization|cookie)s?$/i;
const SHOWN_ELSEWHERE = new Set(['timestamp', 'event', 'provider', 'connection', 'status', 'outcome']);

export function outcomeOf(entry: AuditEntry): Outcome | null {
  if (entry.event === 'refresh' && typeof entry.outcome === 'string') return entry.outcome === 'refreshed' ? 'success' : 'failure';
  if (entry.status === 'success' || entry.status === 'failure') return entry.status;
  return null;
}

function timeOf(entry: AuditEntry): number {
  const ms = Date.parse(String(entry.timestamp));
  return Number.isNaN(ms) ? 0 : ms;
}

function providersOf(entry: AuditEntry): string[] {
  const list = [entry.provider, ...(Array.isArray(entry.providers) ? entry.providers : [])];
  return list.filter((p): p is string => typeof p === 'string');
}

function inRange(entry: AuditEntry, filter: AuditFilter): boolean {
  const at = timeOf(entry);
  return (filter.fromMs === undefined || at >= filter.fromMs) && (filter.toMs === undefined || at < filter.toMs);
}

export function buildAuditView(entries: AuditEntry[], filter: AuditFilter, nowMs: number = Date.now()): AuditView {
  const matches = (entry: AuditEntry) =>
    inRange(entry, filter) &&
    (!filter.provider || providersOf(entry).includes(filter.provider)) &&
    (!filter.event || entry.event === filter.event) &&
    (!filter.outcome || outcomeOf(entry) === filter.outcome);
  const matched = entries.filter(matches);
  // The chart follows the provider, outcome and time filters; it is always about refreshes.
  const refreshes = entries.filter((e) => e.event === 'refresh' && inRange(e, filter) && (!filter.provider || providersOf(e).includes(filter.provider)));
  return {
    rows: matched.slice(-MAX_ROWS).reverse().map(toRow),
    matched: matched.length,
    events: [...new Set(entries.map((e) => String(e.event)))].sort(),
    providers: [...new Set(entries.flatMap(providersOf))].sort(),
    chart: chartOf(refreshes, filter, nowMs),
    proxy: proxyCounts(entries.filter((e) => e.event === 'run' && inRange(e, filter))),
  };
}

function toRow(entry: AuditEntry): AuditRow {
  const detail = Object.entries(entry)
    .filter(([key]) => !SHOWN_ELSEWHERE.has(key) && !HIDDEN.test(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return {
    timestamp: new Date(timeOf(entry)).toISOString(),
    event: String(entry.event),
    provider: providersOf(entry).join(', ') || null,
    connection: typeof entry.connection === 'string' ? entry.connection : null,
    outcome: outcomeOf(entry),
    detail: detail.length > 300 ? `${detail.slice(0, 299)}…` : detail,
  };
}

/** Per hour when the span is at most two days (at least the last day unless `fromMs` says otherwise), else per day; at most 48 hourly or 60 daily bars, the newest kept. */
function chartOf(refreshes: AuditEntry[], filter: AuditFilter, nowMs: number): AuditView['chart'] {
  const times = refreshes.map(timeOf);
  const endMs = filter.toMs ?? nowMs;
  // At least the last day, so a single busy hour is one bar among many, not the whole chart.
  const startMs = filter.fromMs ?? Math.min(endMs - DAY_MS, ...times);
  const unit = endMs - startMs <= 2 * DAY_MS ? 'hour' : 'day';
  const size = unit === 'hour' ? HOUR_MS : DAY_MS;
  const last = Math.floor((endMs - 1) / size) * size;
  const count = Math.min(unit === 'hour' ? 48 : 60, Math.max(1, Math.floor((last - Math.floor(startMs / size) * size) / size) + 1));
  const first = last - (count - 1) * size;
  const buckets: ChartBucket[] = Array.from({ length: count }, (_, i) => ({ start: new Date(first + i * size).toISOString(), success: 0, failure: 0 }));
  let success = 0;
  let failure = 0;
  for (const entry of refreshes) {
    const index = Math.floor((timeOf(entry) - first) / size);
    const bucket = buckets[index];
    if (!bucket) continue;
    if (outcomeOf(entry) === 'success') {
      bucket.success += 1;
      success += 1;
    } else {
      bucket.failure += 1;
      failure += 1;
    }
  }
  return { unit, from: new Date(first).toISOString(), to: new Date(last + size).toISOString(), buckets, success, failure };
}

/** `run` entries record `hosts: { host: { requests, statuses, intercepted } }` (src/proxy/stats.ts). */
function proxyCounts(runs: AuditEntry[]): ProxyHostCount[] {
  const byHost = new Map<string, ProxyHostCount>();
  for (const run of runs) {
    const hosts = run.hosts && typeof run.hosts === 'object' ? (run.hosts as Record<string, { requests?: unknown; intercepted?: unknown }>) : {};
    for (const [host, stats] of Object.entries(hosts)) {
      const count = byHost.get(host) ?? { host, requests: 0, runs: 0, intercepted: false };
      count.requests += typeof stats?.requests === 'number' ? stats.requests : 0;
      count.runs += 1;
      count.intercepted ||= stats?.intercepted === true;
      byHost.set(host, count);
    }
  }
  return [...byHost.values()].sort((a, b) => b.requests - a.requests || a.host.localeCompare(b.host));
}
