// The PostgreSQL plumbing every PgStore shares: one pool per connection string, the versioned
// schema, and one translation of driver failures into authsome errors (passwords never shown).
// `pg` is imported lazily: it costs ~32 ms of a CLI start, and most commands never need it.
import type { Pool, PoolClient } from 'pg';
import { AuthsomeError } from '../util/index.ts';

export const STATEMENT_TIMEOUT_MS = 5000;
/**
 * How long one attempt to open a connection may take. Shorter than the store's reconnect window
 * (pg-store.ts, 4 s), so a connect that hangs — a lost SYN, a server swamped by a fleet's start —
 * is given up in time for at least one more attempt inside the window.
 */
const CONNECT_TIMEOUT_MS = 2000;
/** A transaction left open by a crashed or stuck caller must not hold its locks for ever. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;
const MIGRATION_LOCK = 'authsome_schema_migrations';
/** The NOTIFY channel on which every change to kv is announced (migration 2). */
export const CHANGES_CHANNEL = 'authsome_kv_changes';

/**
 * Versioned schema. Never edit an applied migration; append a new one.
 * `COLLATE "C"` on key: ORDER BY and the prefix range then follow code points (as SQLite's
 * binary collation does) whatever the database's default locale is.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE kv (
     profile TEXT NOT NULL,
     key TEXT COLLATE "C" NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (key)
   );
   CREATE INDEX kv_profile_key ON kv (profile, key);
   CREATE TABLE authsome_leases (
     key TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at BIGINT NOT NULL
   );`,
  // Every committed change to kv is announced to listening daemons on other machines, whoever
  // wrote it (authsome, a migration, an operator's SQL). The payload is the key, never the value.
  `CREATE FUNCTION authsome_kv_notify() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'DELETE' THEN
       PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('profile', OLD.profile, 'key', OLD.key)::text);
     ELSE
       PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('profile', NEW.profile, 'key', NEW.key)::text);
     END IF;
     RETURN NULL;
   END $$;
   CREATE TRIGGER kv_notify AFTER INSERT OR UPDATE OR DELETE ON kv FOR EACH ROW EXECUTE FUNCTION authsome_kv_notify();`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Milliseconds since the epoch on the server's clock: leases compare one clock across machines. */
export const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

export interface SharedPool {
  readonly url: string;
  readonly pool: Pool;
  refs: number;
  migrated: Promise<void> | undefined;
}

/** One pool per connection string, shared by every PgStore of the process (all profiles). */
const pools = new Map<string, SharedPool>();

export async function loadPg(): Promise<typeof import('pg').default> {
  return (await import('pg')).default;
}

export async function acquirePool(url: string): Promise<SharedPool> {
  const existing = pools.get(url);
  if (existing) {
    existing.refs += 1;
    return existing;
  }
  const pg = await loadPg();
  // Another open may have created it while pg was loading.
  const raced = pools.get(url);
  if (raced) {
    raced.refs += 1;
    return raced;
  }
  const pool = new pg.Pool({ ...connectionOptions(url), max: 4, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  // A client whose server goes away (a restart, an admin's pg_terminate_backend) emits 'error'
  // whenever the news arrives: while idle (the pool re-emits it), checked out between two queries,
  // or while being closed after a failed query. Without a listener that would crash the process.
  // The failure still reaches whoever uses the connection through its next query; the pool drops
  // the client, and the next operation connects afresh.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const shared: SharedPool = { url, pool, refs: 1, migrated: undefined };
  pools.set(url, shared);
  return shared;
}

export async function releasePool(shared: SharedPool): Promise<void> {
  shared.refs -= 1;
  if (shared.refs > 0) return;
  if (pools.get(shared.url) === shared) pools.delete(shared.url);
  await shared.pool.end().catch(() => undefined);
}

/** Options for every connection authsome makes (pooled or the LISTEN one). */
export function connectionOptions(url: string) {
  return {
    connectionString: url,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'authsome',
  };
}

/** Applies pending migrations once per pool (a failed attempt is retried by the next caller). */
export function ensureMigrated(shared: SharedPool): Promise<void> {
  shared.migrated ??= upToDate(shared.pool).then((current) => (current ? undefined : migrate(shared.pool))).catch((error: unknown) => {
    shared.migrated = undefined;
    throw error;
  });
  return shared.migrated;
}

/**
 * The common case, one plain read: the schema is current. Every CLI process asks, so it must not
 * queue behind the migration lock that only a first start or an upgrade needs.
 */
async function upToDate(pool: Pool): Promise<boolean> {
  try {
    return (await schemaVersion(pool)) === MIGRATIONS.length;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return false; // no migrations table yet
    throw error;
  }
}

/** Pending migrations in one transaction under an advisory lock, so concurrent first starts do not race. */
async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS authsome_schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const current = await schemaVersion(client);
      if (current > MIGRATIONS.length) {
        throw new AuthsomeError(
          'store_version_unsupported',
          `the PostgreSQL store has schema version ${current}, newer than this authsome understands (${MIGRATIONS.length}); nothing was changed`,
          { hint: 'Upgrade authsome on this machine to the version the other machines use.' },
        );
      }
      for (let version = current + 1; version <= MIGRATIONS.length; version += 1) {
        await client.query(MIGRATIONS[version - 1]!);
        await client.query('INSERT INTO authsome_schema_migrations (version) VALUES ($1)', [version]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

export async function schemaVersion(db: Pick<Pool, 'query'>): Promise<number> {
  const { rows } = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM authsome_schema_migrations');
  return rows[0]?.version ?? 0;
}

/** The server is down, restarting, or the connection broke: worth another try on a new connection. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  '57P01', '57P02', // admin_shutdown, crash_shutdown
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
]);
/**
 * The server is up but admits nobody right now: every slot taken (53300 too_many_connections, also
 * "remaining connection slots are reserved"), or starting up, shutting down or recovering (57P03
 * cannot_connect_now). Slots free up within moments, so these are retried like a broken connection.
 */
const BUSY_CODES = new Set(['53300', '57P03']);
/** PgBouncer at its own limits answers 08P01 (protocol_violation) with one of these messages. */
const POOLER_BUSY = /no more connections allowed|client connections exceeded|pgbouncer cannot connect to server|server login has been failing/i;
/** The server answered and refused us: retrying cannot help. */
const REFUSAL_CODES = new Set(['28000', '28P01', '3D000']); // bad role or password, no such database

/** Whether a failure is about reaching the server (so a retry on a fresh connection may work). */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof AuthsomeError) return isConnectionFailure(error.cause);
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.some(isConnectionFailure);
  const code = (error as { code?: string } | null)?.code ?? '';
  if (CONNECTION_CODES.has(code) || isServerBusy(error)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
}

/** Whether the server (or a pooler in front of it) turned us away for now: at its connection limit, or starting. */
export function isServerBusy(error: unknown): boolean {
  if (error instanceof AuthsomeError) return isServerBusy(error.cause);
  const code = (error as { code?: string } | null)?.code ?? '';
  if (BUSY_CODES.has(code)) return true;
  return code === '08P01' && error instanceof Error && POOLER_BUSY.test(error.message);
}

export function pgError(url: string, error: unknown, context = ''): AuthsomeError {
  if (error instanceof AuthsomeError) return error;
  const location = redactUrl(url);
  const reason = scrub(url, describe(error));
  const code = (error as { code?: string }).code ?? '';
  if (isServerBusy(error) && code !== '57P03') {
    return new AuthsomeError('store_unavailable', `the PostgreSQL store at ${location} admits no more connections${context}: ${reason}`, {
      hint: 'The server (or the pooler in front of it) is at its connection limit: raise max_connections or put PgBouncer in front — see "A fleet on one PostgreSQL" in the README for the numbers. Nothing was changed; try again.',
      cause: error,
    });
  }
  if (isConnectionFailure(error) || REFUSAL_CODES.has(code)) {
    return new AuthsomeError('store_unavailable', `cannot reach the PostgreSQL store at ${location}${context}: ${reason}`, {
      hint: REFUSAL_CODES.has(code)
        ? 'The server refused the login or the database: check the user, password (PGPASSWORD or ~/.pgpass) and database name in the store URL.'
        : 'Check that the PostgreSQL server is running and reachable from this machine (host, port, firewall). Nothing was changed.',
      cause: error,
    });
  }
  if (code === '57014') {
    return new AuthsomeError('store_unavailable', `the PostgreSQL store at ${location} did not answer within ${STATEMENT_TIMEOUT_MS / 1000} s: ${reason}`, {
      hint: 'Try again; if it persists, look for long-running transactions or locks on the server (pg_stat_activity).',
      cause: error,
    });
  }
  if (/unsupported startup parameter/i.test(reason)) {
    // PgBouncer refuses the session settings every connection carries (connectionOptions).
    return new AuthsomeError('store_unavailable', `the PostgreSQL store at ${location} cannot be used: ${reason}`, {
      hint: 'A connection pooler in front of the server refuses authsome\'s session settings. In pgbouncer.ini set ignore_startup_parameters = statement_timeout,idle_in_transaction_session_timeout, and give the role those timeouts instead (see "A fleet on one PostgreSQL" in the README).',
      cause: error,
    });
  }
  return new AuthsomeError('store_unavailable', `the PostgreSQL store at ${location} cannot be used: ${reason}`, { cause: error });
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // net.connect to "localhost" tries ::1 and 127.0.0.1 and reports both.
    return [...new Set(error.errors.map((inner: unknown) => describe(inner)))].join('; ');
  }
  if (error instanceof Error) return error.message || (error as { code?: string }).code || error.name;
  return String(error);
}

/** The connection string without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    for (const name of [...parsed.searchParams.keys()]) {
      if (/pass/i.test(name)) parsed.searchParams.set(name, 'redacted');
    }
    return parsed.toString();
  } catch {
    // Not a URL (a keyword/value string): drop password=… wherever it appears.
    return url.replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, '$1redacted');
  }
}

/** The password in a connection string, so the caller can register it with the redactor. */
export function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return /password\s*=\s*(\S+)/i.exec(url)?.[1] ?? '';
  }
}

/** Removes the password itself from a driver message, in case one ever echoes it. */
function scrub(url: string, text: string): string {
  const password = urlPassword(url);
  return password.length >= 3 ? text.split(password).join('<redacted>') : text;
}
