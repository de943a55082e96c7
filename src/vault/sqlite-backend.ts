// The embedded default backend: one SQLite file per profile under the home
// (profiles/<profile>/store.db), with a change feed that polls each file (sqlite-changes.ts).
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { STORE_VERSION, type Home } from './home.ts';
import { watchSqliteChanges } from './sqlite-changes.ts';
import { SqliteStore, nativeBindingOption } from './sqlite-store.ts';
import type { Store, StoreBackend, StoreChange, StoreProbe } from './store.ts';

/** The embedded default: profiles/<profile>/store.db under the home, one file per profile. */
export class SqliteBackend implements StoreBackend {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly #home: Home;
  readonly #stores = new Map<string, SqliteStore>();

  constructor(home: Home) {
    this.#home = home;
    this.location = home.profilesDir;
  }

  open(profile: string, create: boolean): Store {
    const cached = this.#stores.get(profile);
    // A store opened for reading before its file existed is empty; a write reopens it, and so does
    // a read once another process has created the file (a long-lived daemon must see it).
    if (cached && (cached.isOpen || (!create && !existsSync(this.#home.storeFile(profile))))) return cached;
    const store = SqliteStore.open(this.#home.storeFile(profile), { create });
    if (cached) void cached.close();
    this.#stores.set(profile, store);
    return store;
  }

  async profiles(): Promise<string[]> {
    return this.#home.listProfiles();
  }

  async countRecords(): Promise<number> {
    let count = 0;
    for (const profile of this.#home.listProfiles()) {
      const path = this.#home.storeFile(profile);
      if (!existsSync(path)) continue;
      try {
        const store = SqliteStore.open(path, { create: false });
        count += store.countSync();
        void store.close();
      } catch {
        // A store we cannot open still counts as data: never risk a new key over it.
        count += 1;
      }
    }
    return count;
  }

  async probe(profile = 'default'): Promise<StoreProbe> {
    let latency: number | null = null;
    try {
      const started = process.hrtime.bigint();
      await this.open(profile, false).get(`profile:${profile}:`);
      latency = Math.round((Number(process.hrtime.bigint() - started) / 1e6) * 100) / 100;
    } catch {
      // A damaged file is the profile check's finding (doctor names it there), not the backend's.
    }
    return { backend: 'sqlite', location: this.location, version: `SQLite ${sqliteVersion()}`, schema_version: STORE_VERSION, latency_ms: latency };
  }

  /** Commits by any connection to any profile's file, seen within a poll (250 ms); never FEED_LOST. */
  async watch(listener: (change: StoreChange) => void): Promise<() => Promise<void>> {
    return watchSqliteChanges(this.#home, listener);
  }

  async close(): Promise<void> {
    const stores = [...this.#stores.values()];
    this.#stores.clear();
    await Promise.all(stores.map((store) => store.close()));
  }
}

function sqliteVersion(): string {
  const db = new Database(':memory:', nativeBindingOption());
  try {
    return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}
