// The PostgreSQL Store: one `kv` table for every profile (keys already carry the profile; the
// profile column scopes each PgStore to its own rows, like one SQLite file per profile) and the
// `authsome_leases` table of refresh-protocol.md. `pg` is imported lazily: it costs ~32 ms of a
// CLI start, and most commands never touch PostgreSQL.
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { AuthsomeError } from '../util/index.ts';
import type { Store, StoreEntry, StoreWriter } from './store.ts';

const STATEMENT_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;
/** A transaction left open by a crashed or stuck caller must not hold its locks for ever. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;
const MIGRATION_LOCK = 'authsome_schema_migrations';
const TRANSACTION_LOCK = 'authsome:tx:';

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
];

/** Milliseconds since the epoch on the server's clock: leases compare one clock across machines. */
const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

export interface PgStoreOptions {
  /** The profile whose rows this store reads and writes. */
  profile: string;
}

interface SharedPool {
  pool: Pool;
  refs: number;
  migrated: Promise<void> | undefined;
}

/** One pool per connection string, shared by every PgStore of the process (all profiles). */
const pools = new Map<string, SharedPool>();

type Queryable = Pick<PoolClient, 'query'>;

export class PgStore implements Store {
  readonly location: string;
  readonly profile: string;
  #url: string;
  #shared: SharedPool | null;

  private constructor(url: string, profile: string, shared: SharedPool) {
    this.#url = url;
    this.location = redactUrl(url);
    this.profile = profile;
    this.#shared = shared;
  }

  /** Connects (sharing the URL's pool), applies pending migrations once, and returns the store. */
  static async open(url: string, options: PgStoreOptions): Promise<PgStore> {
    const shared = await acquirePool(url);
    const store = new PgStore(url, options.profile, shared);
    try {
      shared.migrated ??= migrate(shared.pool).catch((error: unknown) => {
        shared.migrated = undefined; // let the next open try again (e.g. the server was still starting)
        throw error;
      });
      await shared.migrated;
      return store;
    } catch (error) {
      await store.close();
      throw store.#error(error);
    }
  }

  get(key: string): Promise<string | undefined> {
    return this.#guard((db) => this.#get(db, key));
  }

  list(prefix: string): Promise<StoreEntry[]> {
    return this.#guard((db) => this.#list(db, prefix));
  }

  put(key: string, value: string): Promise<void> {
    return this.#guard((db) => this.#put(db, key, value));
  }

  delete(key: string): Promise<boolean> {
    return this.#guard((db) => this.#delete(db, key));
  }

  async transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T> {
    const pool = this.#pool();
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw this.#error(error);
    }
    let open = true;
    const run = <R>(op: (db: Queryable) => Promise<R>): Promise<R> => {
      if (!open) return Promise.reject(new AuthsomeError('internal', 'a store transaction was used after it ended'));
      return op(client).catch((error: unknown) => Promise.reject(this.#error(error)));
    };
    const tx: StoreWriter = {
      get: (key) => run((db) => this.#get(db, key)),
      list: (prefix) => run((db) => this.#list(db, prefix)),
      put: (key, value) => run((db) => this.#put(db, key, value)),
      delete: (key) => run((db) => this.#delete(db, key)),
    };
    let broken: unknown;
    try {
      try {
        await client.query('BEGIN');
        // Write transactions of one profile run one at a time, as SQLite's BEGIN IMMEDIATE makes
        // them: a read-check-write inside fn (the refresh's generation check) cannot interleave.
        // Transaction-scoped, so it ends with COMMIT/ROLLBACK and never outlives the local work.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [TRANSACTION_LOCK + this.profile]);
      } catch (error) {
        broken = error;
        throw this.#error(error);
      }
      let result: T;
      try {
        result = await fn(tx);
      } catch (error) {
        open = false;
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError;
        }
        throw error;
      }
      open = false;
      try {
        await client.query('COMMIT');
      } catch (error) {
        broken = error;
        throw this.#error(error);
      }
      return result;
    } finally {
      open = false;
      // A client whose ROLLBACK/COMMIT failed may still be inside a transaction: destroy it.
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }

  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    // One conditional upsert in autocommit: concurrent callers on any machine are serialized by
    // the primary key, and exactly one of them sees its row written.
    return this.#guard(async (db) => {
      const result = await db.query(
        `WITH now AS (SELECT ${NOW_MS} AS ms)
         INSERT INTO authsome_leases AS l (key, holder, expires_at)
         SELECT $1, $2, now.ms + $3::bigint FROM now
         ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE l.expires_at < (SELECT ms FROM now) OR l.holder = excluded.holder`,
        [key, holder, Math.max(0, Math.ceil(ttlMs))],
      );
      return result.rowCount === 1;
    });
  }

  releaseLease(key: string, holder: string): Promise<void> {
    return this.#guard(async (db) => {
      await db.query('DELETE FROM authsome_leases WHERE key = $1 AND holder = $2', [key, holder]);
    });
  }

  /** Releases this store's reference to the shared pool; the last one ends the pool. */
  async close(): Promise<void> {
    const shared = this.#shared;
    if (!shared) return;
    this.#shared = null;
    shared.refs -= 1;
    if (shared.refs === 0) {
      if (pools.get(this.#url) === shared) pools.delete(this.#url);
      await shared.pool.end().catch(() => undefined);
    }
  }

  async #get(db: Queryable, key: string): Promise<string | undefined> {
    const result = await db.query<{ value: string }>('SELECT value FROM kv WHERE profile = $1 AND key = $2', [this.profile, key]);
    return result.rows[0]?.value;
  }

  async #list(db: Queryable, prefix: string): Promise<StoreEntry[]> {
    // starts_with, never LIKE: keys may contain "_" and "%". The >= bound lets the index help.
    const result = await db.query<StoreEntry & QueryResultRow>(
      'SELECT key, value FROM kv WHERE profile = $1 AND key >= $2 AND starts_with(key, $2) ORDER BY key',
      [this.profile, prefix],
    );
    return result.rows.map((row) => ({ key: row.key, value: row.value }));
  }

  async #put(db: Queryable, key: string, value: string): Promise<void> {
    await db.query(
      `INSERT INTO kv (profile, key, value) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET profile = excluded.profile, value = excluded.value`,
      [this.profile, key, value],
    );
  }

  async #delete(db: Queryable, key: string): Promise<boolean> {
    const result = await db.query('DELETE FROM kv WHERE profile = $1 AND key = $2', [this.profile, key]);
    return (result.rowCount ?? 0) > 0;
  }

  #pool(): Pool {
    if (!this.#shared) throw new AuthsomeError('store_unavailable', `the PostgreSQL store at ${this.location} is closed`);
    return this.#shared.pool;
  }

  async #guard<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    const pool = this.#pool();
    try {
      return await fn(pool);
    } catch (error) {
      throw this.#error(error);
    }
  }

  #error(error: unknown): AuthsomeError {
    return pgError(this.#url, error);
  }
}

async function acquirePool(url: string): Promise<SharedPool> {
  const existing = pools.get(url);
  if (existing) {
    existing.refs += 1;
    return existing;
  }
  const pg = (await import('pg')).default;
  // Another open may have created it while pg was loading.
  const raced = pools.get(url);
  if (raced) {
    raced.refs += 1;
    return raced;
  }
  const pool = new pg.Pool({
    connectionString: url,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'authsome',
    max: 4,
    idleTimeoutMillis: 10_000,
    allowExitOnIdle: true,
  });
  // An idle client whose server goes away emits 'error' on the pool; without a listener that
  // would crash the process. The pool drops that client, and the next query connects afresh.
  pool.on('error', () => undefined);
  const shared: SharedPool = { pool, refs: 1, migrated: undefined };
  pools.set(url, shared);
  return shared;
}

/** Applies pending migrations in one transaction under an advisory lock, so concurrent first starts do not race. */
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
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM authsome_schema_migrations');
      const current = rows[0]?.version ?? 0;
      if (current > MIGRATIONS.length) {
        throw new AuthsomeError(
          'store_version_unsupported',
          `the PostgreSQL store has schema version ${current}, newer than this authsome understands (${MIGRATIONS.length})`,
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

/** Connection-level failures: the server is down, unreachable, restarting or refusing us. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
  '28000', '28P01', '3D000', // invalid authorization, bad password, no such database
]);

function pgError(url: string, error: unknown): AuthsomeError {
  if (error instanceof AuthsomeError) return error;
  const location = redactUrl(url);
  const reason = scrub(url, describe(error));
  const code = (error as { code?: string }).code ?? '';
  const unreachable =
    UNREACHABLE_CODES.has(code) ||
    /Connection terminated|timeout exceeded when trying to connect|connection timeout/i.test(reason) ||
    (error instanceof AggregateError && error.errors.length > 0);
  if (unreachable) {
    return new AuthsomeError('store_unavailable', `cannot reach the PostgreSQL store at ${location}: ${reason}`, {
      hint: 'Check that the PostgreSQL server is running and reachable from this machine, and that the store URL (host, port, database, user, password) is right.',
      cause: error,
    });
  }
  if (code === '57014') {
    return new AuthsomeError('store_unavailable', `the PostgreSQL store at ${location} did not answer within ${STATEMENT_TIMEOUT_MS / 1000} s: ${reason}`, {
      hint: 'Try again; if it persists, look for long-running transactions or locks on the server.',
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

/** Removes the password itself from a driver message, in case one ever echoes it. */
function scrub(url: string, text: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    password = /password\s*=\s*(\S+)/i.exec(url)?.[1] ?? '';
  }
  return password.length >= 3 ? text.split(password).join('<redacted>') : text;
}
