// One contract for every Store backend: the same behaviours run against SQLite (a temp file) and
// PostgreSQL (a throwaway server from test/support/postgres.ts). PostgreSQL-only checks follow:
// profiles sharing one kv table, "two machines" (separate pools) contending, concurrent first
// starts, redacted locations, an unreachable server and a server restart. Each backend's change
// feed is tested against writes from another process (SQLite) or another machine (PostgreSQL).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AuthsomeError } from '../../src/util/index.ts';
import { sealValue } from '../../src/vault/codec.ts';
import { Home } from '../../src/vault/home.ts';
import { PgStore } from '../../src/vault/pg-store.ts';
import { SqliteBackend } from '../../src/vault/sqlite-backend.ts';
import { SqliteStore } from '../../src/vault/sqlite-store.ts';
import { fingerprintOf, type Store, type StoreChange } from '../../src/vault/store.ts';
import { REPO_ROOT, cleanupHomes, tempDir } from '../support/homes.ts';
import { closedPort, startPostgres, type TestPostgres } from '../support/postgres.ts';

after(cleanupHomes);

interface Backend {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A fresh, empty store (its own file, or its own profile on the shared server). */
  open(): Promise<Store>;
  /** Two independent handles on one store: two connections (SQLite) or two machines (PostgreSQL). */
  openPair(): Promise<[Store, Store]>;
  /**
   * Whether two handles in ONE process may run overlapping transactions. Not for SQLite:
   * better-sqlite3 waits for the file lock synchronously (busy_timeout), which blocks the event
   * loop that the other handle's open transaction needs to finish — it times out after 5 s.
   * Across processes SQLite's BEGIN IMMEDIATE serializes them; within one, a single handle does.
   */
  overlappingTransactionsAcrossHandles: boolean;
}

let counter = 0;
const unique = (label: string) => `${label}${process.pid}x${++counter}`;

let server: TestPostgres | undefined;

const sqlite: Backend = {
  name: 'sqlite',
  overlappingTransactionsAcrossHandles: false,
  async setup() {},
  async teardown() {},
  async open() {
    return SqliteStore.open(join(tempDir(), 'store.db'), { create: true });
  },
  async openPair() {
    const path = join(tempDir(), 'store.db');
    return [SqliteStore.open(path, { create: true }), SqliteStore.open(path, { create: true })];
  },
};

const postgres: Backend = {
  name: 'postgres',
  overlappingTransactionsAcrossHandles: true,
  async setup() {
    server = await startPostgres();
  },
  async teardown() {
    await server?.stop();
  },
  async open() {
    return PgStore.open(server!.url, { profile: unique('p') });
  },
  async openPair() {
    // Different connection strings → different pools, as on two machines.
    const profile = unique('p');
    return Promise.all([
      PgStore.open(`${server!.url}?application_name=machine-a`, { profile }),
      PgStore.open(`${server!.url}?application_name=machine-b`, { profile }),
    ]);
  },
};

for (const backend of [sqlite, postgres]) {
  describe(`Store contract: ${backend.name}`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const store = await backend.open();
      opened.push(store);
      return store;
    };
    const openPair = async () => {
      const pair = await backend.openPair();
      opened.push(...pair);
      return pair;
    };

    before(() => backend.setup());
    after(async () => {
      for (const store of opened.splice(0)) await store.close();
      await backend.teardown();
    });

    test('get/put/delete round trip', async () => {
      const store = await open();
      const ns = `profile:${unique('n')}:`;
      assert.equal(await store.get(`${ns}k`), undefined);
      await store.put(`${ns}k`, 'v1');
      assert.equal(await store.get(`${ns}k`), 'v1');
      await store.put(`${ns}k`, 'v2');
      assert.equal(await store.get(`${ns}k`), 'v2');
      const big = 'x'.repeat(100_000) + 'é😀';
      await store.put(`${ns}big`, big);
      assert.equal(await store.get(`${ns}big`), big);
      assert.equal(await store.delete(`${ns}k`), true);
      assert.equal(await store.delete(`${ns}k`), false);
      assert.equal(await store.get(`${ns}k`), undefined);
    });

    test('fingerprints(prefix): each key with its value\'s fingerprint, in list\'s order, new with every seal', async () => {
      const store = await open();
      const ns = `profile:${unique('n')}:`;
      const key = randomBytes(32);
      for (const suffix of ['b', 'a_', 'a%', 'a']) await store.put(ns + suffix, sealValue(key, `{"n":"${suffix}"}`));
      await store.put(`profile:${unique('n')}:a`, sealValue(key, '{}'));
      const listed = await store.list(ns);
      assert.deepEqual(await store.fingerprints(ns), listed.map(({ key: k, value }) => [k, fingerprintOf(value)]));
      assert.deepEqual((await store.fingerprints(`${ns}a_`)).map(([k]) => k), [`${ns}a_`]);
      const before = (await store.fingerprints(`${ns}a`))[0]![1];
      await store.put(`${ns}a`, sealValue(key, '{"n":"a"}'));
      const after = (await store.fingerprints(`${ns}a`))[0]![1];
      assert.notEqual(after, before, 'the same plaintext sealed again has a new nonce, so a new fingerprint');
      assert.equal(after, fingerprintOf((await store.get(`${ns}a`))!));
      assert.deepEqual(await store.fingerprints(`${ns}zz`), []);
    });

    test('list(prefix) is ordered by key and never leaks other prefixes, even with % and _', async () => {
      const store = await open();
      const ns = `profile:${unique('n')}:`;
      const other = `profile:${unique('n')}:`;
      const suffixes = ['ab', 'a_', 'a%', 'a', 'aB', 'a%b', 'a_b', 'a\\', 'aé', 'a😀', 'b', 'A', '_', '%', 'a-b', 'a b'];
      const shuffled = [...suffixes].sort(() => Math.random() - 0.5);
      for (const suffix of shuffled) await store.put(ns + suffix, `v:${suffix}`);
      await store.put(`${other}a`, 'elsewhere');
      await store.put(`${ns.slice(0, -1)}`, 'prefix without the colon');

      const expected = (start: string) =>
        suffixes.filter((s) => s.startsWith(start)).sort().map((s) => ({ key: ns + s, value: `v:${s}` }));
      assert.deepEqual(await store.list(ns), expected(''));
      assert.deepEqual(await store.list(`${ns}a`), expected('a'));
      assert.deepEqual(await store.list(`${ns}a_`), expected('a_'));
      assert.deepEqual(await store.list(`${ns}a%`), expected('a%'));
      assert.deepEqual(await store.list(`${ns}_`), expected('_'));
      assert.deepEqual(await store.list(`${ns}%`), expected('%'));
      assert.deepEqual(await store.list(`${ns}a\\`), expected('a\\'));
      assert.deepEqual(await store.list(`${ns}zz`), []);
      // Prefixes ending in a non-ASCII character, and in an astral one (a surrogate pair): the
      // SQLite store reads a range of its index between the prefix and its successor.
      assert.deepEqual(await store.list(`${ns}aé`), expected('aé'));
      assert.deepEqual(await store.list(`${ns}a😀`), expected('a😀'));
      assert.deepEqual((await store.list(`${ns}a_`)).map((e) => e.key), [`${ns}a_`, `${ns}a_b`]);
      // A limit keeps the first entries in key order.
      assert.deepEqual(await store.list(ns, 3), expected('').slice(0, 3));
      assert.deepEqual(await store.list(`${ns}a`, 1), expected('a').slice(0, 1));
      const all = await store.list('');
      assert.deepEqual(all.map((e) => e.key), [...all.map((e) => e.key)].sort());
      assert.ok(all.some((e) => e.key === `${other}a`));
    });

    test('transaction commits every write together and returns fn’s value', async () => {
      const store = await open();
      const ns = `profile:${unique('n')}:`;
      await store.put(`${ns}gone`, 'old');
      const result = await store.transaction(async (tx) => {
        await tx.put(`${ns}a`, '1');
        await tx.put(`${ns}b`, '2');
        assert.equal(await tx.delete(`${ns}gone`), true);
        assert.equal(await tx.get(`${ns}a`), '1', 'a transaction reads its own writes');
        assert.deepEqual((await tx.list(ns)).map((e) => e.key), [`${ns}a`, `${ns}b`]);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.deepEqual(await store.list(ns), [{ key: `${ns}a`, value: '1' }, { key: `${ns}b`, value: '2' }]);
    });

    test('an exception inside a transaction rolls everything back and is rethrown', async () => {
      const store = await open();
      const ns = `profile:${unique('n')}:`;
      await store.put(`${ns}keep`, 'original');
      const boom = new Error('boom');
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.put(`${ns}new`, 'x');
          await tx.put(`${ns}keep`, 'changed');
          await tx.delete(`${ns}keep`);
          throw boom;
        }),
        (error) => error === boom,
      );
      assert.deepEqual(await store.list(ns), [{ key: `${ns}keep`, value: 'original' }]);
      // The store is still usable afterwards (the pooled client went back clean).
      await store.transaction(async (tx) => tx.put(`${ns}after`, 'ok'));
      assert.equal(await store.get(`${ns}after`), 'ok');
    });

    test('a lease is refused to another holder until released, and re-entrant for its holder', async () => {
      const store = await open();
      const key = `lease:${unique('l')}`;
      assert.equal(await store.acquireLease(key, 'A', 30_000), true);
      assert.equal(await store.acquireLease(key, 'B', 30_000), false);
      assert.equal(await store.acquireLease(key, 'A', 30_000), true, 're-entrant for the same holder');
      await store.releaseLease(key, 'B'); // not B's: no effect
      assert.equal(await store.acquireLease(key, 'B', 30_000), false);
      await store.releaseLease(key, 'A');
      assert.equal(await store.acquireLease(key, 'B', 30_000), true);
      assert.equal(await store.acquireLease(key, 'A', 30_000), false);
      await store.releaseLease(key, 'B');
    });

    test('an expired lease can be taken by another holder', async () => {
      const store = await open();
      const key = `lease:${unique('l')}`;
      assert.equal(await store.acquireLease(key, 'A', 150), true);
      assert.equal(await store.acquireLease(key, 'B', 150), false);
      await sleep(300);
      assert.equal(await store.acquireLease(key, 'B', 30_000), true);
      assert.equal(await store.acquireLease(key, 'A', 30_000), false);
      await store.releaseLease(key, 'A'); // A lost it: releasing must not free B's lease
      assert.equal(await store.acquireLease(key, 'C', 30_000), false);
    });

    test('leases are listed by prefix with their holder and the time they have left, lapsed ones too', async () => {
      const [one, two] = await openPair();
      const ns = `lease:${unique('list')}:`;
      assert.deepEqual(await two.leases(ns), []);
      assert.equal(await one.acquireLease(`${ns}a`, 'A', 30_000), true);
      assert.equal(await one.acquireLease(`${ns}b`, 'B', 100), true);
      assert.equal(await one.acquireLease(`${ns.slice(0, -1)}x:c`, 'C', 30_000), true); // another prefix
      await sleep(250);
      const listed = await two.leases(ns);
      assert.deepEqual(listed.map((l) => [l.key, l.holder]), [[`${ns}a`, 'A'], [`${ns}b`, 'B']]);
      assert.ok(listed[0]!.remainingMs > 25_000 && listed[0]!.remainingMs <= 30_000, String(listed[0]!.remainingMs));
      assert.ok(listed[1]!.remainingMs <= 0, 'a lapsed lease is listed with no time left');
      await one.releaseLease(`${ns}a`, 'A');
      assert.deepEqual((await two.leases(ns)).map((l) => l.key), [`${ns}b`]);
    });

    test('reuseWrittenSpace: a write no larger than the last one needs no new space', async () => {
      const store = await open();
      const key = `profile:${unique('s')}:x:connection:c`;
      await store.put(key, 'x'.repeat(3000));
      assert.equal(await store.reuseWrittenSpace(), true, 'nothing holds the log');
      await store.put(key, 'y'.repeat(2500));
      assert.equal(await store.get(key), 'y'.repeat(2500));
    });

    test('two handles contending: exactly one holder wins each lease', async () => {
      const [one, two] = await openPair();
      for (let round = 0; round < 10; round += 1) {
        const key = `lease:${unique('race')}`;
        const attempts = Array.from({ length: 8 }, (_, i) => ((i % 2 === 0 ? one : two).acquireLease(key, `holder-${i}`, 30_000)));
        const results = await Promise.all(attempts);
        assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(results)}`);
      }
    });

    test('read-check-write transactions never interleave (no lost update)', async () => {
      let [one, two] = await openPair();
      if (!backend.overlappingTransactionsAcrossHandles) two = one;
      const key = `profile:${unique('n')}:counter`;
      await one.put(key, '0');
      const bump = (store: Store) =>
        store.transaction(async (tx) => {
          const value = Number(await tx.get(key));
          await sleep(1);
          await tx.put(key, String(value + 1));
        });
      await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 === 0 ? one : two)));
      assert.equal(await two.get(key), '20');
    });
  });
}

describe('PostgreSQL only', () => {
  let pg: TestPostgres;
  const opened: Store[] = [];
  const open = async (url: string, profile: string) => {
    const store = await PgStore.open(url, { profile });
    opened.push(store);
    return store;
  };

  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    for (const store of opened.splice(0)) await store.close();
    await pg?.stop();
  });

  test('profiles share one kv table but each store sees only its own rows', async () => {
    const work = await open(pg.url, 'work');
    const home = await open(pg.url, 'home');
    await work.put('profile:work:github:metadata', 'w');
    await home.put('profile:home:github:metadata', 'h');
    assert.deepEqual(await work.list(''), [{ key: 'profile:work:github:metadata', value: 'w' }]);
    assert.deepEqual(await home.list('profile:'), [{ key: 'profile:home:github:metadata', value: 'h' }]);
    assert.equal(await work.get('profile:home:github:metadata'), undefined);
    assert.equal(await work.delete('profile:home:github:metadata'), false);
    assert.equal(await home.get('profile:home:github:metadata'), 'h');
  });

  test('concurrent first starts apply the migrations exactly once', async () => {
    const url = await pg.createDatabase('fresh_start');
    // Separate pools (different connection strings), like several machines starting at once.
    const stores = await Promise.all(Array.from({ length: 6 }, (_, i) => open(`${url}?application_name=first-${i}`, 'default')));
    await stores[0]!.put('profile:default:x:metadata', 'ok');
    assert.equal(await stores[5]!.get('profile:default:x:metadata'), 'ok');
    const { default: pgModule } = await import('pg');
    const client = new pgModule.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM authsome_schema_migrations ORDER BY version');
      assert.deepEqual(rows, [{ version: 1 }, { version: 2 }]);
      const tables = await client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
      assert.deepEqual(tables.rows.map((r) => r.tablename), ['authsome_leases', 'authsome_schema_migrations', 'kv']);
    } finally {
      await client.end();
    }
  });

  test('statement_timeout bounds a statement stuck behind a lock (store_unavailable, not a hang)', async () => {
    const store = await open(pg.url, unique('p'));
    const { default: pgModule } = await import('pg');
    const blocker = new pgModule.Client({ connectionString: pg.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE kv IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      await assert.rejects(store.get('profile:t:x:metadata'), (error: unknown) => {
        assert.ok(error instanceof AuthsomeError, String(error));
        assert.equal(error.code, 'store_unavailable');
        assert.match(error.message, /did not answer within 5 s/);
        return true;
      });
      const waited = Date.now() - started;
      assert.ok(waited >= 4500 && waited < 9000, `waited ${waited} ms`);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    assert.equal(await store.get('profile:t:x:metadata'), undefined);
  });

  test('location is the URL without the password', async () => {
    const url = new URL(pg.url);
    url.password = 'hunter2-secret'; // trust auth accepts any password
    const store = await open(url.toString(), 'default');
    assert.ok(!store.location.includes('hunter2-secret'), store.location);
    assert.equal(store.location, pg.url);
  });

  test('an unreachable server → store_unavailable, without the password', async () => {
    const port = await closedPort();
    const url = `postgres://authsome:hunter2-secret@127.0.0.1:${port}/authsome`;
    await assert.rejects(PgStore.open(url, { profile: 'default' }), (error: unknown) => {
      assert.ok(error instanceof AuthsomeError, String(error));
      assert.equal(error.code, 'store_unavailable');
      assert.match(error.message, new RegExp(`^cannot reach the PostgreSQL store at postgres://authsome@127\\.0\\.0\\.1:${port}/authsome \\(tried for [0-9.]+ s\\): `));
      assert.match(error.message, /ECONNREFUSED/);
      assert.ok(!error.message.includes('hunter2'), error.message);
      assert.ok(error.hint && !error.hint.includes('hunter2'));
      assert.ok(!JSON.stringify(error.toJSON()).includes('hunter2'));
      return true;
    });
  });

  test('a missing database → store_unavailable naming it', async () => {
    const url = new URL(pg.url);
    url.pathname = '/no_such_db';
    url.password = 'hunter2-secret';
    await assert.rejects(PgStore.open(url.toString(), { profile: 'default' }), (error: unknown) => {
      assert.ok(error instanceof AuthsomeError);
      assert.equal(error.code, 'store_unavailable');
      assert.match(error.message, /no_such_db/);
      assert.ok(!error.message.includes('hunter2'), error.message);
      return true;
    });
  });

  test('the store keeps working after the server restarts', async () => {
    const store = await open(pg.url, unique('p'));
    await store.put('profile:r:x:metadata', 'before');
    await pg.restart();
    // Idle pooled connections died with the server; the next operation reconnects by itself.
    assert.equal(await store.get('profile:r:x:metadata'), 'before');
    assert.equal(await store.acquireLease('lease:r', 'A', 1000), true);
  });

  test('operations issued while the server restarts wait for it and succeed', async () => {
    const store = await open(pg.url, unique('p'));
    await store.put('profile:r:x:metadata', 'v0');
    const restarting = pg.restart();
    // Reads, writes and transactions keep arriving during the shutdown and the start.
    const operations: Promise<unknown>[] = [];
    for (let i = 1; i <= 20; i += 1) {
      operations.push(store.put(`profile:r:x:connection:c${i}`, `v${i}`));
      operations.push(store.get('profile:r:x:metadata'));
      operations.push(store.transaction(async (tx) => tx.put('profile:r:x:state', `t${i}`)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await restarting;
    const results = await Promise.allSettled(operations);
    const failures = results.filter((r) => r.status === 'rejected');
    assert.deepEqual(failures, []);
    assert.equal((await store.list('profile:r:x:connection:')).length, 20);
  });

  test('a connection killed just before COMMIT: the server says the transaction aborted, so it runs again', async () => {
    const profile = unique('k');
    const store = await open(`${pg.url}?application_name=${profile}`, profile);
    const { default: pgModule } = await import('pg');
    const admin = new pgModule.Client({ connectionString: pg.url });
    await admin.connect();
    let runs = 0;
    try {
      const result = await store.transaction(async (tx) => {
        runs += 1;
        await tx.put(`profile:${profile}:x:metadata`, `run ${runs}`);
        if (runs === 1) {
          // Kill this very transaction's backend; its COMMIT then finds the connection gone.
          const { rows } = await admin.query("SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'", [profile]);
          assert.deepEqual(rows, [{ killed: true }]);
        }
        return runs;
      });
      assert.equal(result, 2, 'the first attempt was rolled back by the server and the transaction ran again');
      assert.equal(await store.get(`profile:${profile}:x:metadata`), 'run 2');
    } finally {
      await admin.end();
    }
  });

  test('the change feed announces commits from other machines, and resyncs after a restart', async () => {
    const { PgBackend } = await import('../../src/vault/pg-backend.ts');
    const watcher = new PgBackend(`${pg.url}?application_name=watcher`);
    const writer = await open(`${pg.url}?application_name=writer`, 'feed');
    const changes: Array<{ profile: string; key: string }> = [];
    let notify: () => void = () => {};
    const next = () => new Promise<void>((resolve) => { notify = resolve; });
    let waiting = next();
    const stop = await watcher.watch((change) => {
      // Other tests' profiles share the database: only this test's rows (and RESYNC) count here.
      if (change.profile !== 'feed' && change.profile !== '*') return;
      changes.push(change);
      notify();
    });
    try {
      await writer.put('profile:feed:x:metadata', 'sealed-value');
      await waiting;
      assert.deepEqual(changes, [{ profile: 'feed', key: 'profile:feed:x:metadata' }]);
      assert.ok(!JSON.stringify(changes).includes('sealed-value'), 'the payload carries keys, never values');
      // A rolled-back transaction announces nothing; a committed delete does.
      await writer.transaction(async (tx) => {
        await tx.put('profile:feed:x:state', 'never');
        throw new Error('roll back');
      }).catch(() => undefined);
      waiting = next();
      await writer.delete('profile:feed:x:metadata');
      await waiting;
      assert.deepEqual(changes.slice(1), [{ profile: 'feed', key: 'profile:feed:x:metadata' }]);
      // Notifications sent while the listener is away are lost: it says so, reconnects, and says RESYNC.
      const resynced = new Promise<void>((resolve) => {
        const check = () => (changes.at(-1)?.key === '' ? resolve() : void (waiting = next().then(check)));
        waiting = next().then(check);
      });
      await pg.restart();
      await resynced;
      assert.deepEqual(changes.slice(2), [{ profile: '*', key: '!lost' }, { profile: '*', key: '' }]);
      waiting = next();
      await writer.put('profile:feed:x:client', 'after');
      await waiting;
      assert.deepEqual(changes.at(-1), { profile: 'feed', key: 'profile:feed:x:client' });
    } finally {
      await stop();
      await watcher.close();
    }
  });
});

describe('SQLite only: the change feed', () => {
  // Another process writes the file, as another `authsome` would: its own connection, its own commit.
  const WRITER = `
    const Database = require('better-sqlite3');
    const [path, ops] = [process.argv[1], JSON.parse(process.argv[2])];
    const db = new Database(path, { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.exec('CREATE TABLE IF NOT EXISTS authsome_leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)');
    db.transaction(() => {
      for (const [op, key, value] of ops) {
        if (op === 'put') db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)').run(key, value);
        if (op === 'delete') db.prepare('DELETE FROM kv WHERE key = ?').run(key);
        if (op === 'touch') db.prepare('UPDATE kv SET value = value WHERE key = ?').run(key);
        if (op === 'lease') db.prepare('INSERT OR REPLACE INTO authsome_leases VALUES (?, ?, ?)').run(key, 'other', Date.now() + 1000);
      }
    })();
    db.close();`;
  type Op = ['put', string, string] | ['delete', string] | ['touch', string] | ['lease', string];
  const inAnotherProcess = (path: string, ops: Op[]) => promisify(execFile)(process.execPath, ['-e', WRITER, path, JSON.stringify(ops)], { cwd: REPO_ROOT });
  const sealed = (text: string) => sealValue(randomBytes(32), text);

  /** A home with a profile whose store holds `keys` before anyone watches. */
  const homeWith = async (profile: string, keys: string[]) => {
    const home = new Home(tempDir());
    mkdirSync(home.profileDir(profile), { recursive: true });
    await inAnotherProcess(home.storeFile(profile), keys.map((key) => ['put', key, sealed(key)] as Op));
    return home;
  };

  /** Watches a home; `until(key)` resolves with every change seen once `key` has been reported. */
  const watch = async (home: Home) => {
    const backend = new SqliteBackend(home);
    const seen: StoreChange[] = [];
    let wake = () => {};
    const stop = await backend.watch((change) => {
      seen.push(change);
      wake();
    });
    assert.ok(stop, 'SQLite has a change feed');
    return {
      async until(profile: string, key: string): Promise<StoreChange[]> {
        // The feed's own timer never keeps a process alive; this deadline does, and fails the test.
        const deadline = Date.now() + 5000;
        while (!seen.some((c) => c.profile === profile && c.key === key)) {
          const left = deadline - Date.now();
          if (left <= 0) assert.fail(`${key} not reported within 5 s; seen: ${JSON.stringify(seen)}`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        return seen.splice(0).sort((a, b) => `${a.profile} ${a.key}`.localeCompare(`${b.profile} ${b.key}`));
      },
      async stop() {
        await stop();
        await backend.close();
      },
    };
  };

  test('a write from another process is reported by its key alone; what was there before is not', async () => {
    const home = await homeWith('default', ['profile:default:a:metadata', 'profile:default:b:metadata']);
    const feed = await watch(home);
    try {
      const value = sealed('new');
      await inAnotherProcess(home.storeFile('default'), [['put', 'profile:default:a:metadata', value]]);
      const changes = await feed.until('default', 'profile:default:a:metadata');
      assert.deepEqual(changes, [{ profile: 'default', key: 'profile:default:a:metadata' }]);
      assert.ok(!JSON.stringify(changes).includes(value), 'keys, never values');
    } finally {
      await feed.stop();
    }
  });

  test('a delete is reported, and so is a rewrite of the same plaintext (a new nonce)', async () => {
    const home = await homeWith('default', ['profile:default:a:metadata', 'profile:default:b:metadata', 'profile:default:c:metadata']);
    const feed = await watch(home);
    try {
      await inAnotherProcess(home.storeFile('default'), [['delete', 'profile:default:b:metadata'], ['put', 'profile:default:c:metadata', sealed('profile:default:c:metadata')]]);
      assert.deepEqual(await feed.until('default', 'profile:default:c:metadata'), [
        { profile: 'default', key: 'profile:default:b:metadata' },
        { profile: 'default', key: 'profile:default:c:metadata' },
      ]);
    } finally {
      await feed.stop();
    }
  });

  test('a commit that changes no key (a lease, an idle UPDATE) reports nothing', async () => {
    const home = await homeWith('default', ['profile:default:a:metadata']);
    const feed = await watch(home);
    try {
      await inAnotherProcess(home.storeFile('default'), [['lease', 'lease:x'], ['touch', 'profile:default:a:metadata']]);
      // A later write is the barrier: once it is reported, the commit before it has been looked at.
      await inAnotherProcess(home.storeFile('default'), [['put', 'profile:default:z:metadata', sealed('z')]]);
      assert.deepEqual(await feed.until('default', 'profile:default:z:metadata'), [{ profile: 'default', key: 'profile:default:z:metadata' }]);
    } finally {
      await feed.stop();
    }
  });

  test('a profile created after watching began is picked up, every key it holds reported', async () => {
    const home = await homeWith('default', ['profile:default:a:metadata']);
    const feed = await watch(home);
    try {
      mkdirSync(home.profileDir('work'));
      await inAnotherProcess(home.storeFile('work'), [['put', 'profile:work:a:metadata', sealed('a')], ['put', 'profile:work:a:connection:default', sealed('c')]]);
      assert.deepEqual(await feed.until('work', 'profile:work:a:metadata'), [
        { profile: 'work', key: 'profile:work:a:connection:default' },
        { profile: 'work', key: 'profile:work:a:metadata' },
      ]);
    } finally {
      await feed.stop();
    }
  });

  test('a commit of this process\'s own store is reported too (a daemon\'s or a run\'s own refresh)', async () => {
    const home = await homeWith('default', ['profile:default:a:metadata']);
    const feed = await watch(home);
    const store = SqliteStore.open(home.storeFile('default'), { create: false });
    try {
      await store.transaction(async (tx) => {
        await tx.put('profile:default:a:connection:default', sealed('c'));
        await tx.put('profile:default:a:state', sealed('s'));
      });
      assert.deepEqual(await feed.until('default', 'profile:default:a:state'), [
        { profile: 'default', key: 'profile:default:a:connection:default' },
        { profile: 'default', key: 'profile:default:a:state' },
      ]);
    } finally {
      await store.close();
      await feed.stop();
    }
  });
});
