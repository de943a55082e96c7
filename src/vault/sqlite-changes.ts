// The change feed of the SQLite backend. SQLite has no LISTEN, so each profile's store.db gets its
// own read-only connection that asks `PRAGMA data_version` every POLL_MS: the number moves when
// any other connection — another process, or this process's own store — commits to the file.
// Only then are the keys read again and compared with the last look, by a fingerprint that needs
// no key: every sealed value starts with the random nonce of its write (codec.ts), so a rewrite
// always changes it. A poll that sees a change reports exactly the keys written or deleted since.
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import type { Home } from './home.ts';
import { nativeBindingOption } from './sqlite-store.ts';
import type { StoreChange } from './store.ts';

/** How often each file is asked whether it changed; well inside the 2 s in which `run` must see a new token. */
export const POLL_MS = 250;

/**
 * key → fingerprint: the 16 base64 characters of a sealed value's 12-byte nonce, or the whole
 * value when it is not sealed (so a plaintext rewrite is still seen). Read outside any transaction
 * but the statement's own: a reader takes no lock a writer waits for (WAL).
 */
const FINGERPRINTS = "SELECT key, CASE WHEN instr(value, '.') = 17 THEN substr(value, 1, 16) ELSE value END AS fp FROM kv";

interface WatchedFile {
  /** Null until the file could be opened (and after a failed look: it is opened again). */
  db: Database.Database | null;
  /** The file the connection has open: a file replaced under the same name is a new store. */
  identity: string | null;
  /** data_version as this connection last saw it (numbers of different connections do not compare). */
  version: number;
  fingerprints: Map<string, string>;
  /** The next successful read only sets the baseline: the file was there when watching began. */
  quiet: boolean;
}

export interface SqliteWatchOptions {
  pollMs?: number;
}

/**
 * Calls listener with every key that changes in any profile's store file — those that exist now
 * and those created later — until the returned function is called. Nothing is reported for what
 * the files held when watching began. Never writes, and never holds a lock between polls.
 */
export function watchSqliteChanges(home: Home, listener: (change: StoreChange) => void, options: SqliteWatchOptions = {}): () => Promise<void> {
  const files = new Map<string, WatchedFile>();
  let stopped = false;

  const tell = (profile: string, key: string) => {
    try {
      listener({ profile, key });
    } catch {
      // One listener's failure must not stop the feed (nor the poll timer).
    }
  };

  /** Reports every key that differs between two looks at one profile. */
  const compare = (profile: string, before: Map<string, string>, after: Map<string, string>) => {
    for (const [key, fp] of after) if (before.get(key) !== fp) tell(profile, key);
    for (const key of before.keys()) if (!after.has(key)) tell(profile, key);
  };

  /** The profile's file is gone: each key it held was deleted. */
  const forget = (profile: string) => {
    const watched = files.get(profile);
    if (!watched) return;
    files.delete(profile);
    watched.db?.close();
    compare(profile, watched.fingerprints, new Map());
  };

  const look = (profile: string, initial: boolean): void => {
    const identity = identityOf(home.storeFile(profile));
    if (!identity) return forget(profile);
    let watched = files.get(profile);
    if (!watched) {
      watched = { db: null, identity: null, version: NaN, fingerprints: new Map(), quiet: initial };
      files.set(profile, watched);
    }
    try {
      if (watched.db && watched.identity !== identity) {
        // Replaced (a migration, a restore): what differs from the old file's keys has changed.
        watched.db.close();
        watched.db = null;
      }
      if (!watched.db) {
        watched.db = openReader(home.storeFile(profile));
        watched.identity = identity;
        watched.version = NaN;
      }
      const version = dataVersion(watched.db);
      if (version === watched.version) return;
      // The version is read first: a commit landing between the two reads moves it again, and
      // the next poll looks once more.
      const fresh = readFingerprints(watched.db);
      const before = watched.fingerprints;
      watched.version = version;
      watched.fingerprints = fresh;
      if (watched.quiet) watched.quiet = false;
      else compare(profile, before, fresh);
    } catch {
      // Locked for recovery, half-created (no kv table yet) or damaged: the next poll opens it
      // again and compares with the last good look, so nothing that changed meanwhile is missed.
      // A file never read before has no baseline: its first good look reports every key.
      watched.db?.close();
      watched.db = null;
      watched.quiet = false;
    }
  };

  const poll = (initial: boolean) => {
    if (stopped) return;
    let profiles: string[];
    try {
      profiles = home.listProfiles();
    } catch {
      return;
    }
    for (const profile of profiles) look(profile, initial);
    for (const profile of [...files.keys()]) if (!profiles.includes(profile)) forget(profile);
  };

  poll(true);
  const timer = setInterval(() => poll(false), options.pollMs ?? POLL_MS);
  // A feed must never keep a process alive (a `run` whose child has exited, a CLI command).
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    for (const watched of files.values()) watched.db?.close();
    files.clear();
  };
}

/** Read-only: this connection can never take the write lock, nor checkpoint the WAL on close. */
function openReader(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true, timeout: 0, ...nativeBindingOption() });
}

function dataVersion(db: Database.Database): number {
  return db.pragma('data_version', { simple: true }) as number;
}

function readFingerprints(db: Database.Database): Map<string, string> {
  const rows = db.prepare(FINGERPRINTS).raw().all() as Array<[string, string]>;
  return new Map(rows);
}

/** Device and inode, or null when the file is not there. */
function identityOf(path: string): string | null {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}
