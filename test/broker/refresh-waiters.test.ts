// Waiting for another process's refresh (issue 18, refresh under load): while a live process holds
// a connection's refresh lease, the callers that wait for it only read the store. They never ask
// for its write lock — which the holder needs to store the renewed pair — so a crowd at expiry does
// not contend with the holder, and a holder that keeps the write lock a while (a slow disk, a long
// commit) does not make the waiters fail.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { newLeaseHolder } from '../../src/broker/lease-holder.ts';
import { refreshLeaseKey } from '../../src/broker/refresh-lease.ts';
import { SqliteStore, keys } from '../../src/vault/index.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { CLI, cleanEnv, collectOutput, runCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';

const WAITERS = 5;
/** Longer than the store's busy timeout (5 s): a waiter that asked for the write lock would fail. */
const WRITE_LOCK_HELD_MS = 12_000;

let as: AuthServer;
let h: OAuthHome;

before(async () => {
  as = await startAuthServer({ accessTokenTtl: 3600 });
  h = await oauthHome();
  await h.register(testProvider(as));
  const login = await runCli(['login', 'testas'], { env: h.env });
  assert.equal(login.code, 0, login.stderr);
  await runCli(['daemon', 'stop'], { env: h.env });
});
after(async () => {
  await h?.cleanup();
  await as?.close();
});

const storePath = () => join(h.home, 'profiles', 'default', 'store.db');

/** Resolves once the process has the store file open: it has read the due record and is on its way to the lease. */
async function untilStoreOpen(pid: number, done: Promise<unknown>): Promise<void> {
  let ended = false;
  void done.then(() => (ended = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch { /* not started yet, or ended */ }
    if (fds.some((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`) === storePath(); } catch { return false; } })) return;
    if (ended) assert.fail(`process ${pid} ended before it opened the store`);
    if (Date.now() > deadline) assert.fail(`process ${pid} never opened the store`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('callers waiting for another process\'s refresh', () => {
  it('never ask for the store\'s write lock: they outlast a holder that keeps it past the busy timeout, then one refresh serves all', async () => {
    const before = (await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env })).stdout.trim();
    await makeDue(h.home, 'testas');
    await as.resetCounts();
    // This test process plays the holder: a live process on this machine holds the lease.
    const leaseKey = refreshLeaseKey(keys.connection('default', 'testas', 'default'));
    const holder = newLeaseHolder();
    const store = SqliteStore.open(storePath(), { create: false });
    assert.equal(await store.acquireLease(leaseKey, holder, 60_000), true);
    // ...and keeps the store's write lock (a write transaction left open), as a holder storing a
    // large record on a slow disk would.
    const lock = new Database(storePath());
    lock.exec('BEGIN IMMEDIATE');
    const waiters = Array.from({ length: WAITERS }, () => {
      const child = spawn(process.execPath, [CLI, 'get', 'testas', '--field', 'access_token', '--show-secret'], { env: cleanEnv({ NO_COLOR: '1', ...h.env }), stdio: ['ignore', 'pipe', 'pipe'] });
      return { pid: child.pid!, done: collectOutput(child) };
    });
    try {
      for (const waiter of waiters) await untilStoreOpen(waiter.pid, waiter.done);
      // Every waiter is at the lease now; none may need the write lock while it is held.
      await new Promise((resolve) => setTimeout(resolve, WRITE_LOCK_HELD_MS));
    } finally {
      lock.exec('COMMIT');
      lock.close();
      // The holder gives up without refreshing: one waiter takes the lease and refreshes for all.
      await store.releaseLease(leaseKey, holder);
      await store.close();
    }
    const results = await Promise.all(waiters.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const printed = new Set(results.map((r) => r.stdout.trim()));
    assert.equal(printed.size, 1, `every waiter printed the same token (got ${printed.size})`);
    assert.notEqual([...printed][0], before, 'the token was renewed');
    assert.equal((await as.counts()).token.refresh_token, 1, 'exactly one refresh reached the token endpoint');
  });
});
