// A fleet on one PostgreSQL store: "machines" are separate homes (their own AUTHSOME_HOME, no
// shared files) with the same AUTHSOME_STORE_URL and AUTHSOME_MASTER_KEY, each process a real CLI.
// The refresh protocol's guarantees hold across them: processes on three machines at expiry cause
// exactly one refresh, all get the same token, the grant stays alive. A daemon and a `run` on one
// machine hear of another machine's refresh through LISTEN/NOTIFY. A server restart in the middle
// of a refresh loses nothing; an unreachable server and a wrong master key give clear errors and
// write nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonClient } from '../../src/daemon/client.ts';
import { daemonPaths } from '../../src/daemon/paths.ts';
import { looksLikeSealedValue, openValue, sealValue } from '../../src/vault/codec.ts';
import { acme } from '../proxy/harness.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { launchChromium } from '../support/chromium.ts';
import { CLI, cleanEnv, runCli, runCliJson } from '../support/cli.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { closedPort, startPostgres, type TestPostgres } from '../support/postgres.ts';
import { startTokenGate, type TokenGate } from '../support/token-gate.ts';
import { cliOnSignal, together } from '../support/together.ts';

const FLEET_KEY = randomBytes(32).toString('base64');
const REFRESH = 'refresh_token';

let pg: TestPostgres;
let as: AuthServer;
let gate: TokenGate;
let upstream: HttpsUpstream;
const machines: OAuthHome[] = [];
const extraHomes: OAuthHome[] = [];

async function machine(env: Record<string, string>): Promise<OAuthHome> {
  const home = await oauthHome(env);
  await home.register(testProvider(as, { host_url: 'api.example.test', oauth: { token_url: gate.url } }));
  return home;
}

before(async () => {
  [pg, as, upstream] = await Promise.all([startPostgres(), startAuthServer({ accessTokenTtl: 3600 }), startHttpsUpstream()]);
  gate = await startTokenGate(`${as.issuer}/token`);
  for (let i = 0; i < 3; i += 1) machines.push(await machine({ AUTHSOME_STORE_URL: pg.url, AUTHSOME_MASTER_KEY: FLEET_KEY }));
  const login = await runCli(['login', 'testas'], { env: machines[0]!.env });
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  const tokens = await as?.issuedTokens().catch(() => []);
  if (tokens?.length) {
    for (const m of [...machines, ...extraHomes]) await assertNoTokenIn([join(m.home, 'audit.log'), join(m.home, 'logs')], tokens);
  }
  for (const m of [...machines, ...extraHomes]) await m.cleanup();
  await Promise.all([gate?.close(), upstream?.close(), as?.close()]);
  await pg?.stop();
});

const access = () => ({ storeUrl: pg.url, masterKey: FLEET_KEY });
const token = async (on: OAuthHome, field = 'access_token') => {
  const result = await runCli(['get', 'testas', '--field', field, '--show-secret'], { env: on.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};

async function sql<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}
const snapshot = () => sql<{ key: string; value: string }>(pg.url, 'SELECT key, value FROM kv ORDER BY key');

/** A later refresh, from yet another machine, still works: no spent refresh token was reused. */
async function assertGrantAlive(on: OAuthHome): Promise<void> {
  const forced = await runCliJson<{ refreshed: boolean }>(['refresh', 'testas'], { env: on.env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.json.refreshed, true);
  assert.equal(await as.isActive(await token(on)), true);
}

/** Polls a state another process owns (a daemon's memory), for at most limitMs. */
async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, limitMs = 10_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a fleet sharing one PostgreSQL store', () => {
  it('a login on one machine is every machine\'s, and the database holds only sealed values', async () => {
    const first = await token(machines[0]!);
    assert.equal(await token(machines[1]!), first);
    assert.equal(await token(machines[2]!), first);
    const listed = await runCliJson<{ custom: Array<{ name: string; state: string }> }>(['list', '--json'], { env: machines[2]!.env });
    assert.equal(listed.json.custom.find((p) => p.name === 'testas')?.state, 'connected');
    // Nothing on the other machines' disks: their records are in the database.
    assert.equal(existsSync(join(machines[1]!.home, 'profiles', 'default', 'store.db')), false);
    const rows = await snapshot();
    assert.ok(rows.some((r) => r.key === 'profile:default:testas:connection:default'), JSON.stringify(rows.map((r) => r.key)));
    for (const row of rows) assert.ok(looksLikeSealedValue(row.value), `${row.key} is sealed`);
    const everything = JSON.stringify(rows);
    for (const secret of [...(await as.issuedTokens()), FLEET_KEY]) assert.ok(!everything.includes(secret), 'no token or key in the database');
  });

  it('12 processes on 3 machines at expiry: one refresh, one token for all, the grant alive', async () => {
    const before = await token(machines[0]!);
    await makeDue(machines[0]!.home, 'testas', 'default', 'default', -1000, access());
    await as.resetCounts();
    const results = await together(Array.from({ length: 12 }, (_, i) => ({ argv: cliOnSignal(['get', 'testas', '--field', 'access_token', '--show-secret']), env: machines[i % 3]!.env })));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const printed = new Set(results.map((r) => r.stdout.trim()));
    assert.equal(printed.size, 1, `every process printed the same token (got ${printed.size})`);
    assert.notEqual([...printed][0], before);
    assert.equal((await as.counts()).token[REFRESH], 1, 'exactly one refresh reached the token endpoint');
    assert.equal(await as.isActive([...printed][0]!), true);
    await assertGrantAlive(machines[2]!);
  });

  it('a daemon and its dashboard hear of another machine\'s refresh at once (LISTEN/NOTIFY), with no rescan', async () => {
    // A scan interval of 10 minutes: only a notification can update the daemon's memory in time.
    const env = { ...machines[0]!.env, AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' };
    const started = await runCliJson(['daemon', 'start', '--json'], { env });
    assert.equal(started.code, 0, started.stderr);
    const client = new DaemonClient(daemonPaths(machines[0]!.home).socket);
    const browser = await launchChromium();
    try {
      const status = await eventually('the daemon\'s change feed', () => client.status(), (s) => s?.store?.changes === 'listening' && (s.connections?.length ?? 0) > 0);
      assert.equal(status!.store!.backend, 'postgres');
      assert.ok(!status!.store!.location.includes(FLEET_KEY));
      const before = status!.connections!.find((c) => c.provider === 'testas')!;
      // The dashboard on this machine, its event stream open.
      const link = await runCliJson<{ url: string }>(['ui', '--no-browser', '--json'], { env });
      assert.equal(link.code, 0, link.stderr);
      const page = await browser.newPage();
      await page.goto(link.json.url);
      await page.locator('#live[data-ready]').waitFor({ state: 'attached' });
      assert.equal(await page.locator('#live').isHidden(), true);
      const refreshed = await runCliJson<{ generation: number; expires_at: string }>(['refresh', 'testas', '--json'], { env: machines[1]!.env });
      assert.equal(refreshed.code, 0, refreshed.stderr);
      assert.ok(refreshed.json.generation > before.generation);
      const seen = await eventually('the daemon\'s view of testas', () => client.status(), (s) => s?.connections?.find((c) => c.provider === 'testas')?.generation === refreshed.json.generation, 5000);
      assert.equal(seen!.connections!.find((c) => c.provider === 'testas')!.status, 'connected');
      const log = readFileSync(daemonPaths(machines[0]!.home).logFile, 'utf8');
      assert.match(log, /store: listening for changes in postgres:\/\//);
      assert.match(log, /store: testas \(default, profile default\) changed: connected, generation \d+/);
      // The page says so in its live region, and offers a reload (it never reloads by itself).
      await page.locator('#live:not([hidden])').waitFor();
      assert.match(await page.locator('#live').innerText(), /Changed elsewhere since this page loaded: testas \(default\): connected\./);
      const html = await page.content();
      for (const secret of await as.issuedTokens()) assert.ok(!html.includes(secret), 'no token in the page');
    } finally {
      await browser.close();
      await runCli(['daemon', 'stop'], { env });
    }
  });

  it('`run` on one machine injects the token another machine just refreshed', async () => {
    const old = await token(machines[0]!);
    const script = `
      const call = () => fetch('https://api.example.test/oauth/fleet').then((r) => r.status);
      call().then((status) => {
        console.error('first ' + status);
        process.stdin.once('data', () => call().then((s) => { console.error('second ' + s); process.exit(0); }));
      });`;
    upstream.reset();
    const env = cleanEnv({ ...machines[0]!.env, NODE_EXTRA_CA_CERTS: upstream.caFile, AUTHSOME_TESTING: '1', AUTHSOME_PROXY_CONNECT_TO: upstream.connectTo() });
    const child = spawn(process.execPath, [CLI, '--verbose', 'run', '--', process.execPath, '-e', script], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    const waitFor = (pattern: RegExp) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} within 20 s:\n${stderr}`)), 20_000);
      const check = () => {
        if (!pattern.test(stderr)) return;
        clearTimeout(timer);
        resolve();
      };
      child.stderr.on('data', check);
      child.once('close', () => reject(new Error(`run ended before ${pattern}:\n${stderr}`)));
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await waitFor(/first 200/);
    const refreshed = await runCliJson<{ refreshed: boolean }>(['refresh', 'testas', '--json'], { env: machines[2]!.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    // The run process's change feed drops the token it held; the next request reads the new one.
    await waitFor(/proxy: credential changed in the store: testas \(default\)/);
    child.stdin.end('next\n');
    await waitFor(/second 200/);
    assert.equal(await done, 0, stderr);
    const renewed = await token(machines[1]!);
    assert.notEqual(renewed, old);
    const bearers = upstream.received('/oauth/fleet').map((r) => r.headers.authorization);
    assert.deepEqual(bearers, [`Bearer ${old}`, `Bearer ${renewed}`]);
  });

  it('a machine with the wrong master key gets a clear error and writes nothing', async () => {
    const rogue = await machine({ AUTHSOME_STORE_URL: pg.url, AUTHSOME_MASTER_KEY: randomBytes(32).toString('base64') });
    extraHomes.push(rogue);
    await rogue.register(acme);
    const before = await snapshot();
    const read = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: rogue.env });
    assert.equal(read.code, 7, read.stderr);
    assert.match(read.stderr, /^Error: cannot decrypt profile:default:testas:\S+: the master key does not match this store/m);
    assert.match(read.stderr, /AUTHSOME_MASTER_KEY/);
    const write = await runCli(['login', 'acme', '--api-key-stdin'], { env: rogue.env, input: 'acme-key-from-the-rogue-machine' });
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /the master key does not match this store; nothing was written/);
    const refresh = await runCli(['refresh', 'testas'], { env: rogue.env });
    assert.equal(refresh.code, 7, refresh.stderr);
    assert.deepEqual(await snapshot(), before, 'not one row changed');

    // A machine with no key at all must not make one up over the fleet's records.
    const keyless = await machine({ AUTHSOME_STORE_URL: pg.url });
    extraHomes.push(keyless);
    const keylessRead = await runCli(['get', 'testas'], { env: keyless.env });
    assert.equal(keylessRead.code, 7, keylessRead.stderr);
    assert.match(keylessRead.stderr, /master\.key is missing, but the store holds \d+ encrypted records; refusing to create a new key over them/);
    assert.equal(existsSync(join(keyless.home, 'master.key')), false);
    assert.deepEqual(await snapshot(), before);
  });

  it('a record under a foreign key in the database stops a refresh before the refresh token is spent', async () => {
    // How a mixed-key store comes about: someone wrote with another key (before the guards, or by hand).
    await makeDue(machines[0]!.home, 'testas', 'default', 'default', -1000, access());
    const foreign = sealValue(randomBytes(32), JSON.stringify({ schema_version: 2 }));
    await sql(pg.url, `INSERT INTO kv (profile, key, value) VALUES ('aaa', 'profile:aaa:x:metadata', '${foreign}')`);
    try {
      await as.resetCounts();
      const result = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: machines[0]!.env });
      assert.equal(result.code, 7, result.stderr);
      assert.match(result.stderr, /the master key does not match this store; nothing was written/);
      assert.equal((await as.counts()).token[REFRESH] ?? 0, 0, 'the refresh token was never presented');
    } finally {
      await sql(pg.url, "DELETE FROM kv WHERE profile = 'aaa'");
    }
    await assertGrantAlive(machines[1]!);
  });

  it('a server restart in the middle of a refresh: the rotated pair is stored, nothing is lost', async () => {
    await makeDue(machines[0]!.home, 'testas', 'default', 'default', -1000, access());
    await as.resetCounts();
    // The server rotates the pair; its answer is held until the database has restarted.
    gate.mode('hold-response');
    const getting = runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: machines[1]!.env });
    await gate.nextHeld();
    await pg.restart();
    gate.mode('pass');
    gate.release();
    const result = await getting;
    assert.equal(result.code, 0, result.stderr);
    const renewed = result.stdout.trim();
    assert.equal(await token(machines[2]!), renewed, 'the rotated pair was stored after the restart');
    assert.equal((await as.counts()).token[REFRESH], 1);
    await assertGrantAlive(machines[0]!);

    // Every machine keeps working across another restart: each operation reconnects on its own.
    const restarting = pg.restart();
    const reads = await Promise.all(machines.map((m) => runCli(['get', 'testas', '--field', 'status'], { env: m.env })));
    await restarting;
    for (const r of reads) assert.equal(r.code, 0, r.stderr);
  });

  it('an unreachable server: a clear error without the password, and nothing written locally', async () => {
    const port = await closedPort();
    const url = `postgres://authsome:s3cret-db-pass@127.0.0.1:${port}/authsome`;
    const lost = await machine({ AUTHSOME_STORE_URL: url, AUTHSOME_MASTER_KEY: FLEET_KEY });
    extraHomes.push(lost);
    const result = await runCli(['get', 'testas'], { env: lost.env });
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stderr, new RegExp(`^Error: cannot reach the PostgreSQL store at postgres://authsome@127\\.0\\.0\\.1:${port}/authsome \\(tried for [0-9.]+ s\\): connect ECONNREFUSED`, 'm'));
    assert.match(result.stderr, /Check that the PostgreSQL server is running/);
    const doctor = await runCliJson<{ healthy: boolean; findings: Array<{ check: string; status: string; message: string }> }>(['doctor', '--json'], { env: lost.env });
    assert.equal(doctor.code, 1);
    assert.equal(doctor.json.findings.find((f) => f.check === 'store')?.status, 'error');
    for (const text of [result.stderr, JSON.stringify(doctor.json)]) assert.ok(!text.includes('s3cret-db-pass'), 'the password is never shown');
    assert.equal(existsSync(join(lost.home, 'profiles', 'default', 'store.db')), false);
  });

  it('the server goes away after the provider rotated: the pair is rescued to a file on that machine, and its next access restores it', async () => {
    const before = await token(machines[0]!, 'refresh_token');
    await makeDue(machines[0]!.home, 'testas', 'default', 'default', 60_000, access());
    gate.mode('hold-response');
    // A lease (7.5 s) shorter than a write retry's budget: once the database is gone the pair goes to
    // the rescue file at once. The request timeout (5 s) leaves time for the pause while it is held.
    const env = { ...machines[1]!.env, AUTHSOME_REFRESH_TIMEOUT: '5' };
    const getting = runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
    const held = await Promise.race([gate.nextHeld().then(() => true), getting.then(() => false)]);
    if (!held) assert.fail(`the refresh never reached the token endpoint: ${JSON.stringify(await getting)}`);
    await pg.pause();
    gate.mode('pass');
    gate.release();
    const result = await getting;
    await pg.resume();
    assert.equal(result.code, 0, result.stderr);
    // The provider rotated the pair before the database went away: it is kept, encrypted, in this
    // machine's home, and the caller got the new token (durable there).
    const rescued = /Warning: refresh of testas \(default\): the renewed tokens could not be written to the store \(.*cannot reach the PostgreSQL store.*\); they were rescued to (\S+) \(encrypted\)/.exec(result.stderr);
    assert.ok(rescued, result.stderr);
    assert.ok(rescued[1]!.startsWith(join(machines[1]!.home, 'rescue')), rescued[1]);
    assert.ok(existsSync(rescued[1]!));
    const renewed = result.stdout.trim();
    assert.equal(await as.isActive(renewed), true);
    const audit = readFileSync(join(machines[1]!.home, 'audit.log'), 'utf8');
    assert.match(audit, /"event": "refresh".*"outcome": "rescued"/);
    // The database still holds the old pair, in its pending form (read directly: an access from
    // another machine now would present the spent refresh token — the rescue file is this machine's).
    const row = (await snapshot()).find((r) => r.key === 'profile:default:testas:connection:default')!;
    const pending = JSON.parse(openValue(Buffer.from(FLEET_KEY, 'base64'), row.value)!) as { refresh_token: string; metadata: Record<string, unknown> };
    assert.equal(pending.refresh_token, before);
    assert.ok(pending.metadata.refresh_pending, 'the pending form written before the token was spent');

    // The next access on that machine writes the rescued pair to the store and removes the file.
    assert.equal(await token(machines[1]!), renewed);
    assert.equal(existsSync(rescued[1]!), false);
    assert.notEqual(await token(machines[0]!, 'refresh_token'), before, 'every machine now reads the renewed pair');
    await assertGrantAlive(machines[2]!);
  });
});
