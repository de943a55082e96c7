// Moving a home between SQLite and a shared PostgreSQL: `migrate --to` copies every profile's
// sealed records, reads each back and decrypts it, then switches the home over (the old SQLite
// files are kept aside, never deleted); `init --store` points a new home at a store after checking
// it can be reached; `doctor` and `whoami` say which store is in use, its version and latency.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acme } from '../proxy/harness.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { closedPort, startPostgres, type TestPostgres } from '../support/postgres.ts';

let pg: TestPostgres;
let as: AuthServer;
const homes: OAuthHome[] = [];

before(async () => {
  [pg, as] = await Promise.all([startPostgres(), startAuthServer({ accessTokenTtl: 3600 })]);
});
after(async () => {
  for (const h of homes) await h.cleanup();
  await as?.close();
  await pg?.stop();
});

async function count(url: string, profile?: string): Promise<number> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(profile ? 'SELECT count(*)::int AS n FROM kv WHERE profile = $1' : 'SELECT count(*)::int AS n FROM kv', profile ? [profile] : []);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

interface Who { store: string }
interface Migration { records: number; profiles: Array<{ profile: string; records: number }>; verified: boolean; source: string; to: { backend: string; location: string } }
interface Doctor { healthy: boolean; store: { backend: string; version: string; schema_version: number; latency_ms: number; location: string }; findings: Array<{ check: string; status: string; message: string }> }

describe('migrate between SQLite and PostgreSQL', () => {
  it('moves every profile there and back, verified, and the connections keep working', async () => {
    const h = await oauthHome();
    homes.push(h);
    await h.register(testProvider(as));
    await h.register(acme);
    assert.equal((await runCli(['login', 'testas'], { env: h.env })).code, 0);
    assert.equal((await runCli(['login', 'acme', '--api-key-stdin'], { env: h.env, input: 'acme-key-0001' })).code, 0);
    // A second profile with its own connection.
    assert.equal((await runCli(['profile', 'create', 'work'], { env: h.env })).code, 0);
    assert.equal((await runCli(['--profile', 'work', 'login', 'acme', '--api-key-stdin'], { env: h.env, input: 'acme-key-work' })).code, 0);
    const token = (await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env })).stdout.trim();

    const target = await pg.createDatabase('migrate_roundtrip');
    const there = await runCliJson<Migration>(['migrate', '--to', target, '--json'], { env: h.env });
    assert.equal(there.code, 0, there.stderr);
    assert.equal(there.json.verified, true);
    const byProfile = Object.fromEntries(there.json.profiles.map((p) => [p.profile, p.records]));
    assert.deepEqual(Object.keys(byProfile).sort(), ['default', 'work']);
    assert.equal(await count(target, 'default'), byProfile.default);
    assert.equal(await count(target, 'work'), byProfile.work);
    assert.equal(await count(target), there.json.records);
    // The SQLite files are put aside, not deleted, so no one reads a stale copy.
    assert.equal(existsSync(join(h.home, 'profiles', 'default', 'store.db')), false);
    assert.ok(readdirSync(join(h.home, 'profiles', 'default')).some((f) => /^store\.db\.migrated-/.test(f)));
    assert.match(there.json.source, /kept as .*store\.db\.migrated-/);
    assert.equal(JSON.parse(readFileSync(join(h.home, 'config.json'), 'utf8')).store_url, target);

    // Now served from PostgreSQL.
    assert.equal((await runCliJson<Who>(['whoami', '--json'], { env: h.env })).json.store, target);
    assert.equal((await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env })).stdout.trim(), token);
    assert.equal((await runCli(['--profile', 'work', 'get', 'acme', '--field', 'api_key', '--show-secret'], { env: h.env })).stdout.trim(), 'acme-key-work');
    const doctor = await runCliJson<Doctor>(['doctor', '--json'], { env: h.env });
    // (The home's unrelated findings — the test's own definition files are 0644 — do not matter here.)
    assert.equal(doctor.json.findings.find((f) => f.check === 'store')?.status, 'ok', JSON.stringify(doctor.json));
    assert.deepEqual(doctor.json.findings.filter((f) => f.check.startsWith('profile ')).map((f) => f.status), ['ok', 'ok']);
    assert.equal(doctor.json.store.backend, 'postgres');
    assert.match(doctor.json.store.version, /^PostgreSQL 15\./);
    assert.equal(doctor.json.store.schema_version, 2);
    assert.ok(doctor.json.store.latency_ms > 0 && doctor.json.store.latency_ms < 1000, String(doctor.json.store.latency_ms));
    assert.match(doctor.json.findings.find((f) => f.check === 'store')!.message, /^shared PostgreSQL store at postgres:\/\/.*: PostgreSQL 15\.\d+[^,]*, schema 2, round trip [0-9.]+ ms$/);

    // And back: the database keeps its rows (other machines may use them).
    const back = await runCliJson<Migration>(['migrate', '--to', 'sqlite', '--json'], { env: h.env });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.json.records, there.json.records);
    assert.equal(back.json.to.backend, 'sqlite');
    assert.match(back.json.source, /left as it is/);
    assert.equal(await count(target), there.json.records);
    assert.equal('store_url' in JSON.parse(readFileSync(join(h.home, 'config.json'), 'utf8')), false);
    assert.equal((await runCliJson<Who>(['whoami', '--json'], { env: h.env })).json.store, join(h.home, 'profiles', 'default', 'store.db'));
    assert.equal((await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env })).stdout.trim(), token);
    assert.equal((await runCli(['--profile', 'work', 'get', 'acme', '--field', 'api_key', '--show-secret'], { env: h.env })).stdout.trim(), 'acme-key-work');
    const sqliteDoctor = await runCliJson<Doctor>(['doctor', '--json'], { env: h.env });
    assert.equal(sqliteDoctor.json.store.backend, 'sqlite');
    assert.match(sqliteDoctor.json.store.version, /^SQLite 3\./);

    // A target holding other records for these profiles is refused, and nothing changes…
    assert.equal((await runCli(['login', 'acme', '--api-key-stdin', '--force'], { env: h.env, input: 'acme-key-0002' })).code, 0);
    const refused = await runCli(['migrate', '--to', target], { env: h.env });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /already holds \d+ other records? for profile "default"; nothing was copied/);
    assert.match(refused.stderr, /--replace/);
    assert.equal(existsSync(join(h.home, 'profiles', 'default', 'store.db')), true);
    assert.equal((await runCli(['get', 'acme', '--field', 'api_key', '--show-secret'], { env: h.env })).stdout.trim(), 'acme-key-0002');
    // …unless --replace says so.
    const replaced = await runCliJson<Migration>(['migrate', '--to', target, '--replace', '--json'], { env: h.env });
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal((await runCli(['get', 'acme', '--field', 'api_key', '--show-secret'], { env: h.env })).stdout.trim(), 'acme-key-0002');
  });

  it('refuses a target whose records are sealed with another master key (a fleet\'s database), copying nothing', async () => {
    const fleetUrl = await pg.createDatabase('migrate_other_key');
    const fleet = await oauthHome({ AUTHSOME_STORE_URL: fleetUrl, AUTHSOME_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') });
    homes.push(fleet);
    await fleet.register(acme);
    assert.equal((await runCli(['--profile', 'work', 'login', 'acme', '--api-key-stdin'], { env: fleet.env, input: 'acme-key-fleet' })).code, 0);
    const before = await count(fleetUrl);
    const laptop = await oauthHome();
    homes.push(laptop);
    await laptop.register(acme);
    assert.equal((await runCli(['login', 'acme', '--api-key-stdin'], { env: laptop.env, input: 'acme-key-laptop' })).code, 0);
    const result = await runCli(['migrate', '--to', fleetUrl], { env: laptop.env });
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stderr, /holds records sealed with another master key \(profile:work:acme:\S+\); nothing was copied/);
    assert.equal(await count(fleetUrl), before);
    assert.equal(existsSync(join(laptop.home, 'profiles', 'default', 'store.db')), true);
    assert.equal('store_url' in JSON.parse(readFileSync(join(laptop.home, 'config.json'), 'utf8')), false);
    assert.equal((await runCli(['get', 'acme', '--field', 'api_key', '--show-secret'], { env: laptop.env })).stdout.trim(), 'acme-key-laptop');
  });

  it('stops before copying anything when a record does not decrypt', async () => {
    const h = await oauthHome();
    homes.push(h);
    await h.register(acme);
    assert.equal((await runCli(['login', 'acme', '--api-key-stdin'], { env: h.env, input: 'acme-key-0003' })).code, 0);
    const target = await pg.createDatabase('migrate_wrong_key');
    const wrongKey = Buffer.alloc(32, 7).toString('base64');
    const result = await runCli(['migrate', '--to', target], { env: { ...h.env, AUTHSOME_MASTER_KEY: wrongKey } });
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stderr, /migrate stopped before copying anything: cannot decrypt/);
    assert.equal(await count(target).catch(() => 0), 0);
    assert.equal(existsSync(join(h.home, 'profiles', 'default', 'store.db')), true);
    assert.equal('store_url' in JSON.parse(readFileSync(join(h.home, 'config.json'), 'utf8')), false);
  });
});

describe('init --store', () => {
  it('points a new home at PostgreSQL, kept in config.json, after checking it can be reached', async () => {
    const url = await pg.createDatabase('init_store');
    const h = await oauthHome();
    homes.push(h);
    const init = await runCliJson<{ store: string; created: boolean }>(['init', '--store', url, '--json'], { env: h.env });
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.json.store, url);
    assert.equal(JSON.parse(readFileSync(join(h.home, 'config.json'), 'utf8')).store_url, url);
    await h.register(acme);
    assert.equal((await runCli(['login', 'acme', '--api-key-stdin'], { env: h.env, input: 'acme-key-0004' })).code, 0);
    assert.ok((await count(url)) >= 2, 'the connection went to PostgreSQL');
    assert.equal(existsSync(join(h.home, 'profiles', 'default', 'store.db')), false);
    // The home now keeps records there: switching back would strand them, so it says to migrate.
    const switchBack = await runCli(['init', '--store', 'sqlite'], { env: h.env });
    assert.equal(switchBack.code, 2, switchBack.stderr);
    assert.match(switchBack.stderr, /authsome migrate --to sqlite/);
  });

  it('an unreachable or malformed store URL is refused and config.json is left alone', async () => {
    const h = await oauthHome();
    homes.push(h);
    const port = await closedPort();
    const unreachable = await runCli(['init', '--store', `postgres://authsome:pw-not-shown@127.0.0.1:${port}/x`], { env: h.env });
    assert.equal(unreachable.code, 7, unreachable.stderr);
    assert.match(unreachable.stderr, /cannot reach the PostgreSQL store at postgres:\/\/authsome@127\.0\.0\.1/);
    assert.ok(!unreachable.stderr.includes('pw-not-shown'));
    assert.equal(existsSync(join(h.home, 'config.json')), false);
    const malformed = await runCli(['init', '--store', 'mysql://db/x'], { env: h.env });
    assert.equal(malformed.code, 2, malformed.stderr);
    assert.match(malformed.stderr, /--store must be "sqlite" or a postgres:\/\/ URL/);
    const badEnv = await runCli(['get', 'acme'], { env: { ...h.env, AUTHSOME_STORE_URL: 'redis://cache' } });
    assert.equal(badEnv.code, 2, badEnv.stderr);
    assert.match(badEnv.stderr, /AUTHSOME_STORE_URL must be "sqlite" or a postgres:\/\/ URL/);
  });
});
