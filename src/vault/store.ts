// The backend-neutral Store: ordered string keys → sealed string values, atomic transactions,
// and refresh leases (refresh-protocol.md). SQLite is the default; PostgreSQL implements the same.

export interface StoreEntry {
  key: string;
  value: string;
}

export interface StoreReader {
  get(key: string): Promise<string | undefined>;
  /** Entries whose key starts with prefix, ordered by key. */
  list(prefix: string): Promise<StoreEntry[]>;
}

export interface StoreWriter extends StoreReader {
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface Store extends StoreWriter {
  /** Where the data lives, for messages (a path or a redacted URL). */
  readonly location: string;
  /** Runs fn in one write transaction: every write commits together, or none does. */
  transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T>;
  /**
   * Takes the lease on key for ttlMs if it is free or expired; true when this holder has it.
   * A short conditional write, never a lock held across a network call.
   */
  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(key: string, holder: string): Promise<void>;
  close(): Promise<void>;
}
