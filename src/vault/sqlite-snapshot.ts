// Reading a SQLite store in a home this process cannot write. A WAL-mode database needs its -shm
// file to be read, and SQLite creates that file even to read: on a read-only mount, in a folder
// owned by someone else, or on a full disk it cannot, and every read would fail. When no
// write-ahead log holds changes yet to be copied back, store.db alone is the whole store, so it is
// read into memory and opened there, read-only; the first write then says why it cannot be done.
import Database from 'better-sqlite3';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AuthsomeError, notWritableError, writeProblem } from '../util/index.ts';

export interface Snapshot {
  /** The store's content, read-only in memory; null for an empty file (no kv table yet). */
  db: Database.Database | null;
  /** What every write to it throws: home_not_writable, naming the file and the cause. */
  readOnly: AuthsomeError;
}

/** A snapshot of the store at path, or `failure` (the open that failed) thrown when this is not a home we cannot write. */
export function openSnapshot(path: string, failure: AuthsomeError, options: Database.Options = {}): Snapshot {
  const problem = writeProblem(dirname(path));
  if (!problem && failure.code !== 'home_not_writable') throw failure;
  const wal = `${path}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    // Without its log store.db is an older state: reading it would hand out credentials already replaced.
    throw new AuthsomeError('store_unavailable', `the store ${path} has changes in ${wal} that only a process that can write there can read (${problem?.code ?? failure.message}); nothing was changed`, {
      hint: 'Run any authsome command once as a user who can write the home (or once the disk has space): that folds the log into store.db, and reads then work read-only.',
      cause: failure,
    });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw failure;
  }
  const readOnly = notWritableError(path, problem ?? failure.cause);
  if (bytes.length === 0) return { db: null, readOnly };
  // Bytes 18–19 of the header say "WAL" (2); an in-memory copy has no log, so it says "rollback journal" (1).
  if (bytes.length >= 100 && bytes[18] === 2) bytes[18] = bytes[19] = 1;
  const db = new Database(bytes, { ...options, readonly: true });
  try {
    const hasKv = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kv'").get() !== undefined;
    if (hasKv) return { db, readOnly };
  } catch {
    db.close();
    throw failure;
  }
  db.close();
  return { db: null, readOnly };
}
