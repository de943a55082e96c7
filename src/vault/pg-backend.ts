// The fleet backend: every profile of every machine in one PostgreSQL database, with a change
// feed (LISTEN/NOTIFY) so long-lived processes hear of other machines' writes.
import type { QueryResultRow } from 'pg';
import { watchChanges } from './pg-changes.ts';
import { redactUrl, schemaVersion } from './pg-pool.ts';
import { PgStore } from './pg-store.ts';
import type { Store, StoreBackend, StoreChange, StoreProbe } from './store.ts';

/** Every profile of a home in one PostgreSQL database, shared by every machine that names it. */
export class PgBackend implements StoreBackend {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly #url: string;
  readonly #stores = new Map<string, PgStore>();
  /** Serves the backend-wide queries (profiles, counts, probe); opened on first use. */
  #admin: PgStore | null = null;

  constructor(url: string) {
    this.#url = url;
    this.location = redactUrl(url);
  }

  open(profile: string): Store {
    let store = this.#stores.get(profile);
    if (!store) {
      store = new PgStore(this.#url, { profile });
      this.#stores.set(profile, store);
    }
    return store;
  }

  async profiles(): Promise<string[]> {
    const { rows } = await this.#adminQuery<{ profile: string }>('SELECT DISTINCT profile FROM kv ORDER BY profile');
    return rows.map((row) => row.profile);
  }

  async countRecords(): Promise<number> {
    const { rows } = await this.#adminQuery<{ n: string }>('SELECT count(*) AS n FROM kv');
    return Number(rows[0]?.n ?? 0);
  }

  async probe(): Promise<StoreProbe> {
    // The first query pays for connecting; the latency is that of a warm round trip.
    const { rows } = await this.#adminQuery<{ version: string }>("SELECT current_setting('server_version') AS version");
    const samples: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const started = process.hrtime.bigint();
      await this.#adminQuery('SELECT 1');
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    samples.sort((a, b) => a - b);
    const schema = await this.#admin!.withConnection((db) => schemaVersion(db));
    return {
      backend: 'postgres',
      location: this.location,
      version: `PostgreSQL ${rows[0]?.version ?? '?'}`,
      schema_version: schema,
      latency_ms: Math.round(samples[1]! * 100) / 100,
    };
  }

  async watch(listener: (change: StoreChange) => void): Promise<() => Promise<void>> {
    // The trigger that announces changes comes with the migrations: apply them first.
    await this.#adminQuery('SELECT 1');
    return watchChanges(this.#url, listener);
  }

  async close(): Promise<void> {
    const stores = [...this.#stores.values(), ...(this.#admin ? [this.#admin] : [])];
    this.#stores.clear();
    this.#admin = null;
    await Promise.all(stores.map((store) => store.close()));
  }

  #adminQuery<R extends QueryResultRow>(sql: string): Promise<{ rows: R[] }> {
    this.#admin ??= new PgStore(this.#url, { profile: '' });
    return this.#admin.withConnection((db) => db.query<R>(sql));
  }
}
