// The PostgreSQL Store: one `kv` table for every profile (keys already carry the profile; the
// profile column scopes each PgStore to its own rows, like one SQLite file per profile) and the
// `authsome_leases` table of refresh-protocol.md. A PgStore connects on first use, so opening
// one costs nothing until a command reads; a broken connection (a server restart) is retried on a
// fresh one for a few seconds before the caller sees `store_unavailable`.
import type { PoolClient, QueryResultRow } from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import { AuthsomeError } from '../util/index.ts';
import {
  NOW_MS, SCHEMA_VERSION, acquirePool, ensureMigrated, isConnectionFailure, pgError, redactUrl, releasePool,
  type SharedPool,
} from './pg-pool.ts';
import type { LeaseInfo, Store, StoreEntry, StoreFingerprint, StoreWriter } from './store.ts';

/**
 * How long an operation keeps retrying on fresh connections: a restart takes about a second, and a
 * server at its connection limit frees slots within moments. Longer than one connect attempt may
 * take (CONNECT_TIMEOUT_MS), so a hung connect still gets another try.
 */
const RECONNECT_WINDOW_MS = 4000;
/** Back-off between attempts: the ceiling doubles from 50 ms up to 500 ms. */
const RETRY_BASE_MS = 50;
const RETRY_CEILING_MS = 500;
const TRANSACTION_LOCK = 'authsome:tx:';

export interface PgStoreOptions {
  /** The profile whose rows this store reads and writes. */
  profile: string;
}

type Queryable = Pick<PoolClient, 'query'>;

export class PgStore implements Store {
  readonly location: string;
  readonly profile: string;
  readonly #url: string;
  #shared: Promise<SharedPool> | null = null;
  #closed = false;

  constructor(url: string, options: PgStoreOptions) {
    this.#url = url;
    this.location = redactUrl(url);
    this.profile = options.profile;
  }

  /** Connects (sharing the URL's pool), applies pending migrations, and returns the store. */
  static async open(url: string, options: PgStoreOptions): Promise<PgStore> {
    const store = new PgStore(url, options);
    try {
      await store.#withRetry(() => store.#ready());
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  get(key: string): Promise<string | undefined> {
    return this.#query((db) => this.#get(db, key));
  }

  list(prefix: string, limit?: number): Promise<StoreEntry[]> {
    return this.#query((db) => this.#list(db, prefix, limit));
  }

  fingerprints(prefix: string): Promise<StoreFingerprint[]> {
    return this.#query(async (db) => (await db.query<StoreFingerprint>({
      text: "SELECT key, left(value, 16) || right(value, 24) || ':' || length(value) AS fingerprint FROM kv WHERE profile = $1 AND key >= $2 AND starts_with(key, $2) ORDER BY key",
      values: [this.profile, prefix],
      rowMode: 'array',
    })).rows);
  }

  put(key: string, value: string): Promise<void> {
    return this.#query((db) => this.#put(db, key, value));
  }

  delete(key: string): Promise<boolean> {
    return this.#query((db) => this.#delete(db, key));
  }

  /**
   * A connection that breaks before COMMIT (a server restart) leaves nothing behind — the server
   * rolls the transaction back — so the whole transaction runs again on a fresh connection: fn
   * must work only through tx (every caller does). A connection lost *during* COMMIT is settled by
   * asking the server what became of the transaction id (txid_status, PostgreSQL ≥ 10): committed
   * → done; aborted → run again; unknown → reported as such, never guessed.
   */
  async transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await this.#withRetry(() => this.#transactionOnce(fn));
      } catch (error) {
        if (!(error instanceof CommitInDoubt)) throw error;
        const status = await this.#query(async (db) => (await db.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [error.xid])).rows[0]?.status)
          .catch(() => null);
        if (status === 'committed') return error.result as T;
        if (status !== 'aborted') {
          throw new AuthsomeError('store_unavailable', `the connection to the PostgreSQL store at ${this.location} broke while committing, and the server cannot say whether the change was saved`, {
            hint: 'Read it again to see (authsome get / list).', cause: error.cause,
          });
        }
      }
    }
  }

  async #transactionOnce<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T> {
    const { pool } = await this.#ready();
    const client = await pool.connect();
    let xid: string;
    try {
      await client.query('BEGIN');
      // Write transactions of one profile run one at a time, as SQLite's BEGIN IMMEDIATE makes
      // them: a read-check-write inside fn (the refresh's generation check) cannot interleave.
      // Transaction-scoped, so it ends with COMMIT/ROLLBACK and never outlives the local work.
      // The transaction id (assigned now; a write transaction gets one anyway) settles a COMMIT in doubt.
      const { rows } = await client.query<{ xid: string }>(
        'SELECT pg_advisory_xact_lock(hashtextextended($1, 0)), txid_current()::text AS xid',
        [TRANSACTION_LOCK + this.profile],
      );
      xid = rows[0]!.xid;
    } catch (error) {
      client.release(true);
      throw error;
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
        // The caller's own failure (a conflict, a refusal) goes back to it untouched and is never retried.
        throw isConnectionFailure(error) ? error : new CallerFailure(error);
      }
      open = false;
      try {
        await client.query('COMMIT');
      } catch (error) {
        broken = error;
        if (!isConnectionFailure(error)) throw this.#error(error);
        throw new CommitInDoubt(xid, result, error);
      }
      return result;
    } finally {
      open = false;
      // A client whose ROLLBACK/COMMIT failed may still be inside a transaction: destroy it.
      client.release(broken === undefined ? undefined : broken instanceof Error ? broken : true);
    }
  }

  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    // One conditional upsert in autocommit: concurrent callers on any machine are serialized by
    // the primary key, and exactly one of them sees its row written. Retrying it is safe: the
    // same holder may take its own lease again.
    return this.#query(async (db) => {
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
    return this.#query(async (db) => {
      await db.query('DELETE FROM authsome_leases WHERE key = $1 AND holder = $2', [key, holder]);
    });
  }

  leases(prefix: string): Promise<LeaseInfo[]> {
    // Timed by the server's clock, like acquireLease: machines' clocks may differ.
    return this.#query(async (db) => {
      const result = await db.query<{ key: string; holder: string; remaining_ms: string }>(
        `SELECT key, holder, expires_at - ${NOW_MS} AS remaining_ms FROM authsome_leases
         WHERE key >= $1 AND starts_with(key, $1) ORDER BY key`,
        [prefix],
      );
      return result.rows.map((row) => ({ key: row.key, holder: row.holder, remainingMs: Number(row.remaining_ms) }));
    });
  }

  /** The server owns its disk and its write-ahead log; nothing here can reserve space in them. */
  async reuseWrittenSpace(): Promise<boolean> {
    return true;
  }

  /** One query (or a few) on a pooled connection, with the same retries as every operation. */
  withConnection<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    return this.#query(fn);
  }

  /** Releases this store's reference to the shared pool; the last one ends the pool. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#shared;
    this.#shared = null;
    const shared = pending && (await pending.catch(() => null));
    if (shared) await releasePool(shared);
  }

  /** The shared pool, connected and migrated. */
  async #ready(): Promise<SharedPool> {
    if (this.#closed) throw new AuthsomeError('store_unavailable', `the PostgreSQL store at ${this.location} is closed`);
    this.#shared ??= acquirePool(this.#url);
    const shared = await this.#shared;
    await ensureMigrated(shared);
    return shared;
  }

  #query<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    return this.#withRetry(async () => fn((await this.#ready()).pool));
  }

  /** Runs op, again on a fresh connection while the failure is about reaching the server. */
  async #withRetry<T>(op: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await op();
      } catch (error) {
        if (error instanceof CallerFailure || error instanceof CommitInDoubt) throw error instanceof CallerFailure ? error.error : error;
        const elapsed = Date.now() - started;
        if (this.#closed || !isConnectionFailure(error) || elapsed >= RECONNECT_WINDOW_MS) {
          throw this.#error(error, attempt > 0 || elapsed >= RECONNECT_WINDOW_MS ? ` (tried for ${(elapsed / 1000).toFixed(1)} s)` : '');
        }
        // Full jitter: callers turned away together (a server at its connection limit, one that has
        // just come up) come back spread out, not in lockstep. Never past the window's end, so
        // the last attempt still happens inside it.
        const ceiling = Math.min(RETRY_CEILING_MS, RETRY_BASE_MS * 2 ** attempt);
        await delay(Math.min(RECONNECT_WINDOW_MS - elapsed, 5 + Math.random() * ceiling));
      }
    }
  }

  async #get(db: Queryable, key: string): Promise<string | undefined> {
    const result = await db.query<{ value: string }>('SELECT value FROM kv WHERE profile = $1 AND key = $2', [this.profile, key]);
    return result.rows[0]?.value;
  }

  async #list(db: Queryable, prefix: string, limit?: number): Promise<StoreEntry[]> {
    // starts_with, never LIKE: keys may contain "_" and "%". The >= bound lets the index help.
    // LIMIT NULL is no limit.
    const result = await db.query<StoreEntry & QueryResultRow>(
      'SELECT key, value FROM kv WHERE profile = $1 AND key >= $2 AND starts_with(key, $2) ORDER BY key LIMIT $3',
      [this.profile, prefix, limit ?? null],
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

  #error(error: unknown, context = ''): AuthsomeError {
    return pgError(this.#url, error, context);
  }
}

/** Carries an error thrown by a transaction's own code through the retry loop, unchanged. */
class CallerFailure {
  constructor(readonly error: unknown) {}
}

/** COMMIT was sent and the connection broke before its answer: the transaction id tells what happened. */
class CommitInDoubt {
  constructor(readonly xid: string, readonly result: unknown, readonly cause: unknown) {}
}

export { SCHEMA_VERSION as PG_SCHEMA_VERSION };
