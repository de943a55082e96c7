// The SQLite Store: profiles/<profile>/store.db with the Python `kv` table (WAL), plus a lease
// table beside it that the Python implementation never reads. Reads never write: a store in a
// home this process cannot write (read-only mount, another owner, full disk) is read from a
// snapshot (sqlite-snapshot.ts), and only writes fail, with home_not_writable.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { AuthsomeError, FILE_MODE, createPrivateFile, isNotWritable, notWritableError, writeProblem } from '../util/index.ts';
import { openSnapshot } from './sqlite-snapshot.ts';
import type { LeaseInfo, Store, StoreEntry, StoreFingerprint, StoreWriter } from './store.ts';

/** Byte for byte the Python implementation's DDL, so sqlite_master looks the same to both. */
const KV_DDL = 'CREATE TABLE kv (\n    key TEXT PRIMARY KEY,\n    value TEXT NOT NULL\n)';
/**
 * Covers `fingerprints()` (store.ts): the key and its value's fingerprint from the index alone, so
 * a list of 10,000 connections reads ~1 MB of index instead of every value's page (issue 18). An
 * index changes nothing the Python authsome reads or writes; SQLite keeps it current for both.
 */
const FINGERPRINT = "substr(value, 1, 16) || substr(value, -24) || ':' || length(value)";
const FINGERPRINT_INDEX_DDL = `CREATE INDEX IF NOT EXISTS authsome_kv_fingerprint ON kv (key, ${FINGERPRINT})`;
const LEASE_DDL = 'CREATE TABLE IF NOT EXISTS authsome_leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)';
const BUSY_TIMEOUT_MS = 5000;

export interface SqliteStoreOptions {
  /** Create the file and the kv table when missing (writes); reads of a missing store see it empty. */
  create: boolean;
}

export class SqliteStore implements Store {
  readonly location: string;
  #db: Database.Database | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #hasLeaseTable = false;
  #hasFingerprintIndex = false;
  /** The file this store opened (device and inode), to tell a write that landed nowhere. */
  readonly #file: FileIdentity | null;
  /** Set when the store is a snapshot read because this process cannot write here: why, for the first write. */
  readonly #readOnly: AuthsomeError | null;

  private constructor(path: string, db: Database.Database | null, readOnly: AuthsomeError | null = null) {
    this.location = path;
    this.#db = db;
    this.#file = db ? fileIdentity(path) : null;
    this.#readOnly = readOnly;
  }

  static open(path: string, options: SqliteStoreOptions): SqliteStore {
    if (!options.create && !existsSync(path)) return new SqliteStore(path, null);
    return options.create ? SqliteStore.#openForWriting(path) : SqliteStore.#openForReading(path);
  }

  static #openForWriting(path: string): SqliteStore {
    let db: Database.Database | undefined;
    try {
      if (!existsSync(path)) createStoreFile(path);
      db = new Database(path, { timeout: BUSY_TIMEOUT_MS, ...nativeBindingOption() });
      // A file left without its table (by a process that stopped half way) gets it now.
      if (!hasKvTable(db)) createKvTable(db);
      return new SqliteStore(path, db);
    } catch (error) {
      db?.close();
      throw storeError(path, error);
    }
  }

  static #openForReading(path: string): SqliteStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS, ...nativeBindingOption() });
      // A file whose kv table another process is still creating reads as empty; a write reopens it.
      if (hasKvTable(db)) return new SqliteStore(path, db);
      db.close();
      return new SqliteStore(path, null);
    } catch (error) {
      db?.close();
      const failure = storeError(path, error);
      // Damage and lock contention are what they say; anything else may be a home this process cannot write.
      if (failure.code === 'store_corrupt' || (error as { code?: string }).code === 'SQLITE_BUSY') throw failure;
      const snapshot = openSnapshot(path, failure, nativeBindingOption());
      return new SqliteStore(path, snapshot.db, snapshot.readOnly);
    }
  }

  /** False for a store opened for reading before its file existed (it reads as empty). */
  get isOpen(): boolean {
    return this.#db !== null;
  }

  /** Serializes operations so a transaction's statements are never interleaved with another caller's. */
  #run<T>(fn: (db: Database.Database | null) => T | Promise<T>): Promise<T> {
    const next = this.#queue.then(() => fn(this.#db));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  get(key: string): Promise<string | undefined> {
    return this.#run((db) => this.#get(db, key));
  }

  list(prefix: string, limit?: number): Promise<StoreEntry[]> {
    return this.#run((db) => this.#list(db, prefix, limit));
  }

  fingerprints(prefix: string): Promise<StoreFingerprint[]> {
    return this.#run((db) => {
      if (!db) return [];
      const upper = upperBound(prefix);
      return this.#guard(() => upper === null
        ? db.prepare(`SELECT key, ${FINGERPRINT} AS fingerprint FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key`).raw().all(prefix.length, prefix) as StoreFingerprint[]
        : db.prepare(`SELECT key, ${FINGERPRINT} AS fingerprint FROM kv WHERE key >= ? AND key < ? AND substr(key, 1, ?) = ? ORDER BY key`).raw().all(prefix, upper, prefix.length, prefix) as StoreFingerprint[],
      );
    });
  }

  put(key: string, value: string): Promise<void> {
    return this.#run((db) => this.#written(this.#put(db, key, value)));
  }

  delete(key: string): Promise<boolean> {
    return this.#run((db) => this.#written(this.#delete(db, key)));
  }

  transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T> {
    return this.#run(async (db) => {
      const writable = this.#require(db);
      const tx: StoreWriter = {
        get: async (key) => this.#get(writable, key),
        list: async (prefix) => this.#list(writable, prefix),
        put: async (key, value) => this.#put(writable, key, value),
        delete: async (key) => this.#delete(writable, key),
      };
      this.#exec(writable, 'BEGIN IMMEDIATE');
      try {
        const result = await fn(tx);
        this.#exec(writable, 'COMMIT');
        return this.#written(result);
      } catch (error) {
        if (writable.inTransaction) writable.exec('ROLLBACK');
        throw error;
      }
    });
  }

  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.#run((db) => {
      const writable = this.#require(db);
      this.#ensureLeaseTable(writable);
      const now = Date.now();
      const result = this.#guard(() =>
        writable
          .prepare(
            `INSERT INTO authsome_leases (key, holder, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE authsome_leases.expires_at < ? OR authsome_leases.holder = excluded.holder`,
          )
          .run(key, holder, now + ttlMs, now),
      );
      return this.#written(result.changes === 1);
    });
  }

  releaseLease(key: string, holder: string): Promise<void> {
    return this.#run((db) => {
      const writable = this.#require(db);
      this.#ensureLeaseTable(writable);
      this.#guard(() => writable.prepare('DELETE FROM authsome_leases WHERE key = ? AND holder = ?').run(key, holder));
    });
  }

  leases(prefix: string): Promise<LeaseInfo[]> {
    return this.#run((db) => {
      if (!db || !this.#leaseTableExists(db)) return [];
      const now = Date.now();
      const rows = this.#guard(() => db.prepare('SELECT key, holder, expires_at FROM authsome_leases WHERE substr(key, 1, ?) = ? ORDER BY key').all(prefix.length, prefix)) as Array<{ key: string; holder: string; expires_at: number }>;
      return rows.map((row) => ({ key: row.key, holder: row.holder, remainingMs: row.expires_at - now }));
    });
  }

  reuseWrittenSpace(): Promise<boolean> {
    return this.#run((db) => {
      if (!db) return true;
      // PASSIVE: never waits for readers. Complete (every frame copied back) means the next write
      // transaction restarts the log at its first frame, unless a reader started meanwhile.
      const [row] = this.#guard(() => db.pragma('wal_checkpoint(PASSIVE)')) as Array<{ busy: number; log: number; checkpointed: number }>;
      // A rollback journal (log -1) is created anew by every write: nothing can be reserved there.
      return row !== undefined && row.log >= 0 && row.busy === 0 && row.log === row.checkpointed;
    });
  }

  /** Rows in kv, synchronously (used by the missing-key guard before any key exists). */
  countSync(): number {
    if (!this.#db) return 0;
    const db = this.#db;
    return (this.#guard(() => db.prepare('SELECT count(*) AS n FROM kv').get()) as { n: number }).n;
  }

  close(): Promise<void> {
    return this.#run((db) => {
      db?.close();
      this.#db = null;
    });
  }

  #get(db: Database.Database | null, key: string): string | undefined {
    if (!db) return undefined;
    const row = this.#guard(() => db.prepare('SELECT value FROM kv WHERE key = ?').get(key)) as { value: string } | undefined;
    return row?.value;
  }

  #list(db: Database.Database | null, prefix: string, limit = -1): StoreEntry[] {
    if (!db) return [];
    // substr comparison rather than LIKE: keys may contain "_" and "%", which LIKE treats as wildcards.
    // The bounds let the primary key's index find the range: one provider's records of a profile
    // with 10,000 connections are read without visiting the others (issue 18).
    const upper = upperBound(prefix);
    return this.#guard(() => upper === null
      ? db.prepare('SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key LIMIT ?').all(prefix.length, prefix, limit) as StoreEntry[]
      : db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? AND substr(key, 1, ?) = ? ORDER BY key LIMIT ?').all(prefix, upper, prefix.length, prefix, limit) as StoreEntry[],
    );
  }

  #put(db: Database.Database | null, key: string, value: string): void {
    const writable = this.#require(db);
    this.#guard(() => writable.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)').run(key, value));
  }

  #delete(db: Database.Database | null, key: string): boolean {
    if (!db) return false;
    if (this.#readOnly) throw this.#readOnly;
    return this.#guard(() => db.prepare('DELETE FROM kv WHERE key = ?').run(key)).changes > 0;
  }

  #exec(db: Database.Database, sql: string): void {
    this.#guard(() => db.exec(sql));
  }

  #ensureLeaseTable(db: Database.Database): void {
    if (this.#hasLeaseTable) return;
    this.#guard(() => db.exec(LEASE_DDL));
    this.#hasLeaseTable = true;
  }

  /** Reading must not create the table (a store opened only to read stays as it was). */
  #leaseTableExists(db: Database.Database): boolean {
    if (this.#hasLeaseTable) return true;
    return this.#guard(() => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'authsome_leases'").get()) !== undefined;
  }

  /**
   * SQLite goes on writing to a file deleted (or replaced) under it — into an inode nobody can open
   * again — and reports success. So after each write the file at our path must still be the one
   * this store opened: a change that landed nowhere is reported, never taken for saved.
   */
  #written<T>(result: T): T {
    if (!this.#file) return result;
    const now = fileIdentity(this.location);
    if (now && now.dev === this.#file.dev && now.ino === this.#file.ino) return result;
    throw new AuthsomeError('store_unavailable', `the store ${this.location} was ${now ? 'replaced' : 'deleted'} while this process had it open, so the change was not saved`, {
      hint: 'Nothing can be written there any more. If its home was deleted on purpose, set it up again (authsome init) and log in again; otherwise restore the home from a backup.',
    });
  }

  /** The database to write to; the first write of a process also tries to add the fingerprint index where it is missing. */
  #require(db: Database.Database | null): Database.Database {
    if (this.#readOnly) throw this.#readOnly;
    if (!db) throw new AuthsomeError('store_unavailable', `the store at ${this.location} is not open for writing`);
    if (!this.#hasFingerprintIndex && !db.inTransaction) {
      this.#hasFingerprintIndex = true;
      try {
        db.exec(FINGERPRINT_INDEX_DDL);
      } catch {
        // Only a speed-up for list: a store that cannot take it now (full, busy) still takes the write.
      }
    }
    return db;
  }

  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw storeError(this.location, error);
    }
  }
}

function hasKvTable(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kv'").get() !== undefined;
}

/**
 * A new store file, whole: SQLite makes it in a temp file — WAL mode, kv with the Python's exact
 * DDL, the fingerprint index — and it is then linked into place only if no store.db exists (createPrivateFile). Processes
 * that start together each build one; the first link wins and the others open the winner's, so
 * none of them ever meets a store without its table or contends to create it.
 */
function createStoreFile(path: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.new`);
  try {
    // SQLite would create the file with the umask's mode (often 0644); the store must be 0600,
    // and SQLite gives its -wal and -shm files the database file's mode.
    closeSync(openSync(temp, 'wx', FILE_MODE));
    const db = new Database(temp, nativeBindingOption());
    try {
      db.pragma('journal_mode = WAL');
      db.exec(KV_DDL);
      db.exec(FINGERPRINT_INDEX_DDL);
    } finally {
      db.close();
    }
    createPrivateFile(path, readFileSync(temp));
  } finally {
    for (const file of [temp, `${temp}-wal`, `${temp}-shm`]) rmSync(file, { force: true });
  }
}

/**
 * Creates kv in an existing file that lacks it, with the Python's exact DDL, which has no IF NOT
 * EXISTS (kv's row in sqlite_master must read the same to both). Several processes may find it missing at
 * once, so the check is repeated inside a write transaction: one creates it, the others see it.
 */
function createKvTable(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.exec('BEGIN IMMEDIATE');
  try {
    if (!hasKvTable(db)) db.exec(KV_DDL);
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

interface FileIdentity {
  dev: number;
  ino: number;
}

/** Device and inode: a path deleted and created anew names another file. */
function fileIdentity(path: string): FileIdentity | null {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? { dev: stat.dev, ino: stat.ino } : null;
}

let nativeBinding: { nativeBinding?: string } | undefined;

/**
 * Points better-sqlite3 straight at its compiled addon: its default lookup through the `bindings`
 * package probes many paths and costs ~8 ms of every CLI start.
 */
export function nativeBindingOption(): { nativeBinding?: string } {
  if (nativeBinding) return nativeBinding;
  try {
    const require = createRequire(import.meta.url);
    const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    nativeBinding = existsSync(addon) ? { nativeBinding: addon } : {};
  } catch {
    nativeBinding = {};
  }
  return nativeBinding;
}

function storeError(path: string, error: unknown): AuthsomeError {
  if (error instanceof AuthsomeError) return error;
  const code = (error as { code?: string }).code ?? '';
  const reason = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT')) {
    return new AuthsomeError('store_corrupt', `the store ${path} is damaged and cannot be read (${reason}); nothing was changed`, {
      hint: `Keep the file: restore it from a backup, or move it aside (mv ${path} ${path}.damaged) and log in again. \`authsome doctor\` checks every profile.`,
      cause: error,
    });
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN' || isNotWritable(error)) {
    // SQLite's code says little (SQLITE_READONLY_DIRECTORY): name the file system's reason when there is one.
    return notWritableError(path, isNotWritable(error) ? error : writeProblem(dirname(path)) ?? error);
  }
  if (code === 'SQLITE_BUSY') {
    return new AuthsomeError('store_unavailable', `the store ${path} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s`, {
      hint: 'Try again; if it persists, look for a stuck authsome process.',
      cause: error,
    });
  }
  return new AuthsomeError('store_unavailable', `the store ${path} cannot be used: ${reason}`, { cause: error });
}

/**
 * The least string above every string that starts with prefix, in the kv table's BINARY order
 * (UTF-8 bytes, which follow code points): the prefix with its last character's successor. Null
 * when there is none to compute (an empty prefix, or a last character at the edge of a surrogate).
 */
function upperBound(prefix: string): string | null {
  const last = prefix.charCodeAt(prefix.length - 1);
  if (!prefix || last >= 0xd7ff) return null;
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
