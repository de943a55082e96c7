// The backend-neutral Store: ordered string keys → sealed string values, atomic transactions,
// and refresh leases (refresh-protocol.md). SQLite is the default; PostgreSQL implements the same.

export interface StoreEntry {
  key: string;
  value: string;
}

/**
 * What identifies one sealed value without reading it: its nonce, its GCM tag (the first 16 and the
 * last 24 characters of `base64(nonce) "." base64(ciphertext || tag)`) and its length. Every write
 * seals with a new random nonce, so an unchanged fingerprint means the very value seen before —
 * unless the value was damaged inside and kept its length, which only opening it (get, doctor) finds.
 */
export type StoreFingerprint = [key: string, fingerprint: string];

/** The fingerprint of a value as stores compute it in SQL (see StoreFingerprint). */
export function fingerprintOf(value: string): string {
  return `${value.slice(0, 16)}${value.slice(-24)}:${value.length}`;
}

export interface StoreReader {
  get(key: string): Promise<string | undefined>;
  /** Entries whose key starts with prefix, ordered by key; at most `limit` of them, when given. */
  list(prefix: string, limit?: number): Promise<StoreEntry[]>;
}

export interface StoreWriter extends StoreReader {
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface Store extends StoreWriter {
  /** Where the data lives, for messages (a path or a redacted URL). */
  readonly location: string;
  /**
   * Each entry's key and value fingerprint under prefix, ordered by key, without reading the
   * values. Pairs rather than objects: a list of 10,000 reads them all, every time (issue 18).
   */
  fingerprints(prefix: string): Promise<StoreFingerprint[]>;
  /** Runs fn in one write transaction: every write commits together, or none does. */
  transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T>;
  /**
   * Takes the lease on key for ttlMs if it is free or expired; true when this holder has it.
   * A short conditional write, never a lock held across a network call.
   */
  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(key: string, holder: string): Promise<void>;
  /**
   * The leases whose key starts with prefix, lapsed ones included, timed by the store's clock (the
   * database server's on PostgreSQL): who holds them, and for how much longer. Lets a waiter see
   * whether the holder is a process that has died, and lets `rekey` wait for every refresh in flight.
   */
  leases(prefix: string): Promise<LeaseInfo[]>;
  /**
   * Lets the next write reuse the space the last one took. SQLite appends every commit to its
   * write-ahead log; after a complete checkpoint the next writer starts the log from its beginning,
   * so a write no larger than the one just committed overwrites frames already on disk instead of
   * growing the file, and succeeds on a disk that filled meanwhile. Returns false when the
   * checkpoint could not complete (a reader still uses the log). PostgreSQL: nothing to do (true).
   */
  reuseWrittenSpace(): Promise<boolean>;
  close(): Promise<void>;
}

export interface LeaseInfo {
  key: string;
  holder: string;
  /** Milliseconds until the lease lapses; zero or less: lapsed (another holder may take it). */
  remainingMs: number;
}

/** A committed change to one key (written or deleted), announced by a backend's change feed; never its value. */
export interface StoreChange {
  profile: string;
  key: string;
}

/** The feed is back after an interruption: changes may have been missed, so re-read everything. */
export const RESYNC: StoreChange = Object.freeze({ profile: '*', key: '' });
/** The feed's connection was lost; it reconnects by itself and then sends RESYNC. */
export const FEED_LOST: StoreChange = Object.freeze({ profile: '*', key: '!lost' });

export interface StoreProbe {
  backend: 'sqlite' | 'postgres';
  location: string;
  /** The server's or library's version. */
  version: string;
  /** The backend's own schema version (PostgreSQL migrations; SQLite's is the store format). */
  schema_version: number;
  /** One round trip, in milliseconds (SQLite: one read of the profile's file; null when it cannot be read). */
  latency_ms: number | null;
}

/** Where a home's records live: one SQLite file per profile, or one shared PostgreSQL database. */
export interface StoreBackend {
  readonly kind: 'sqlite' | 'postgres';
  /** For messages: a folder, or the URL without its password. */
  readonly location: string;
  /** The profile's store, opened once and kept; create makes a missing SQLite file. */
  open(profile: string, create: boolean): Store;
  /** Profiles that hold records. */
  profiles(): Promise<string[]>;
  /** Records in every profile (the missing-key guard asks before it would create a key). */
  countRecords(): Promise<number>;
  /** Version and one round trip's latency (SQLite measures on the given profile's file). */
  probe(profile?: string): Promise<StoreProbe>;
  /**
   * Calls listener with every change anyone commits (this process's own stores, other processes,
   * other machines) until the returned function is called: PostgreSQL by LISTEN/NOTIFY within
   * milliseconds, SQLite by polling each profile's file (within a quarter second). Changes made
   * before the call are not reported. Null when a backend has no change feed (every backend here
   * has one; callers still fall back to re-reading).
   */
  watch(listener: (change: StoreChange) => void): Promise<(() => Promise<void>) | null>;
  close(): Promise<void>;
}
