// `rekey` while a refresh is in flight (issue 13, item 2), with the real CLI and a server that
// rotates refresh tokens and revokes a grant on reuse: rekey waits for the refresh (it holds its
// own lease on every profile, and no refresh spends a token while it does), the refresh stores its
// pair under the key it read the record with, and rekey then re-seals it. Every record opens with
// the final key, and the grant stays alive — also when the rekey resumes an interrupted one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SqliteStore, openValue, readKeyFile, sealValue, writeKeyFile } from '../../src/vault/index.ts';
import type { AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson, startCli, type RunningCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import type { OAuthHome } from '../support/oauth-home.ts';
import type { TokenGate } from '../support/token-gate.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';

let fx: GatedOAuth;
let as: AuthServer;
let gate: TokenGate;
let h: OAuthHome;

before(async () => {
  fx = await startGatedOAuth();
  ({ as, gate, h } = fx);
  assert.equal((await runCli(['profile', 'create', 'work'], { env: h.env })).code, 0);
  const key = await runCli(['login', 'openai', '--profile', 'work', '--api-key-stdin'], { env: h.env, input: 'sk-rekey-test-0000000000000000' });
  assert.equal(key.code, 0, key.stderr);
});
after(async () => fx?.close());

beforeEach(async () => {
  gate.mode('pass');
  const login = await runCli(['login', 'testas', '--force'], { env: h.env });
  assert.equal(login.code, 0, login.stderr);
  await runCli(['daemon', 'stop'], { env: h.env });
});

const masterKey = () => readKeyFile(join(h.home, 'master.key'));

async function rows(profile: string): Promise<Array<{ key: string; value: string }>> {
  const store = SqliteStore.open(join(h.home, 'profiles', profile, 'store.db'), { create: false });
  try {
    return await store.list('');
  } finally {
    await store.close();
  }
}

/** Every value of every profile opens with the key now in master.key: nothing was sealed with a key that is gone. */
async function assertAllOpenWith(key: Buffer): Promise<void> {
  for (const profile of ['default', 'work']) {
    const all = await rows(profile);
    assert.ok(all.length > 0);
    for (const row of all) assert.notEqual(openValue(key, row.value), null, `${profile}: ${row.key} opens with the final key`);
  }
}

async function assertGrantAlive(): Promise<void> {
  const forced = await runCliJson<{ refreshed: boolean }>(['refresh', 'testas'], { env: h.env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.json.refreshed, true);
  const token = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env });
  assert.equal(await as.isActive(token.stdout.trim()), true);
  const apiKey = await runCli(['get', 'openai', '--profile', 'work', '--field', 'api_key', '--show-secret'], { env: h.env });
  assert.equal(apiKey.stdout, 'sk-rekey-test-0000000000000000\n');
}

/**
 * A refresh whose token request is held at the gate, then `rekey`: the request is let through
 * once rekey says it waits for it (or, if it does not wait, once it has finished).
 */
async function rekeyDuringRefresh(): Promise<{ refresh: { code: number; stdout: string; stderr: string }; rekey: { code: number; stdout: string; stderr: string }; waited: boolean }> {
  await makeDue(h.home, 'testas');
  gate.mode('hold-request');
  const refreshing = startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env });
  await heldAtTheGate(refreshing);
  const rekeying = startCli(['rekey'], { env: h.env });
  const waited = await Promise.race([
    rekeying.waitForStderr(/Waiting for a refresh in progress to finish before re-encrypting: testas \(default\)/).then(() => true, () => false),
    rekeying.done.then(() => false),
  ]);
  gate.mode('pass');
  gate.release();
  const [refresh, rekey] = await Promise.all([refreshing.done, rekeying.done]);
  return { refresh, rekey, waited };
}

async function heldAtTheGate(caller: RunningCli): Promise<void> {
  const held = await Promise.race([gate.nextHeld().then(() => true), caller.done.then(() => false)]);
  if (!held) assert.fail(`the refresh never reached the token endpoint: ${JSON.stringify(await caller.done)}`);
}

describe('rekey while a refresh is in flight', () => {
  it('waits for the refresh; its pair is stored and re-sealed; every record opens with the new key; the grant stays alive', async () => {
    const oldKey = masterKey();
    const { refresh, rekey, waited } = await rekeyDuringRefresh();
    assert.equal(refresh.code, 0, refresh.stderr);
    assert.equal(rekey.code, 0, rekey.stderr);
    const newKey = masterKey();
    assert.notDeepEqual(newKey, oldKey);
    await assertAllOpenWith(newKey);
    const stored = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env });
    assert.equal(stored.stdout, refresh.stdout, 'the refreshed pair is the one stored');
    await assertGrantAlive();
    assert.ok(waited, 'rekey said it waited for the refresh in flight');
  });

  it('resuming an interrupted rekey: the refresh in flight is waited for, nothing is left under a key that is gone', async () => {
    // An interrupted rekey: a new key staged in master.key.next, the work profile already re-sealed with it.
    const oldKey = masterKey();
    const staged = randomBytes(32);
    writeKeyFile(join(h.home, 'master.key.next'), staged);
    const work = SqliteStore.open(join(h.home, 'profiles', 'work', 'store.db'), { create: false });
    for (const row of await work.list('')) await work.put(row.key, sealValue(staged, openValue(oldKey, row.value)!));
    await work.close();

    const { refresh, rekey, waited } = await rekeyDuringRefresh();
    assert.equal(refresh.code, 0, refresh.stderr);
    assert.equal(rekey.code, 0, rekey.stderr);
    assert.deepEqual(masterKey(), staged, 'the staged key was reused');
    await assertAllOpenWith(staged);
    await assertGrantAlive();
    assert.ok(waited, 'rekey said it waited for the refresh in flight');
  });
});
