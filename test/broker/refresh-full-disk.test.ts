// A disk that fills while a refresh is in flight (issue 13, item 3), on a real tmpfs: the server
// rotates the pair, the disk fills, the answer arrives. The space the refreshed record needs was
// reserved before the refresh token was spent, so it is stored; when something still keeps the
// store from taking it (a reader pinning SQLite's log), the pair goes to the rescue file reserved
// for it and the next access restores it. Either way the grant stays alive, and an audit log that
// cannot be written changes neither the exit code nor the message.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson, startCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { mountSmallDisk, padToPage, type SmallDisk } from '../support/small-disk.ts';
import { startTokenGate, type TokenGate } from '../support/token-gate.ts';

let as: AuthServer;
let gate: TokenGate;
let disk: SmallDisk;
let h: OAuthHome;
let env: Record<string, string>;
let home: string;

before(async () => {
  as = await startAuthServer({ accessTokenTtl: 3600 });
  gate = await startTokenGate(`${as.issuer}/token`);
  disk = mountSmallDisk(16);
  home = join(disk.dir, 'home');
  // The home lives on the small disk. The default request timeout (20 s): an answer is held while the disk fills.
  h = await oauthHome({ AUTHSOME_HOME: home });
  env = h.env;
  // Routes to the org's instance_url too, a value kept from token answers (Salesforce): a rescued
  // pair must keep the one its refresh answer gave.
  await h.register(testProvider(as, { oauth: { token_url: gate.url }, routes: [{ url: '{instance_url}' }] }));
});
after(async () => {
  disk?.free();
  await h?.cleanup();
  await gate?.close();
  await as?.close();
  disk?.unmount();
});

beforeEach(async () => {
  gate.mode('pass');
  disk.free();
  const login = await runCli(['login', 'testas', '--force'], { env });
  assert.equal(login.code, 0, login.stderr);
  // No daemon: its background refresher and its store watch must not touch the store meanwhile.
  await runCli(['daemon', 'stop'], { env });
});

const secret = async (field: string) => {
  const result = await runCli(['get', 'testas', '--field', field, '--show-secret'], { env });
  assert.equal(result.code, 0, JSON.stringify(result));
  return result.stdout.trim();
};

/** A later refresh still works and its token is accepted: no spent refresh token was presented. */
async function assertGrantAlive(): Promise<void> {
  const forced = await runCliJson<{ refreshed: boolean }>(['refresh', 'testas'], { env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.json.refreshed, true);
  assert.equal(await as.isActive(await secret('access_token')), true);
}

/**
 * The server rotates the pair, the disk fills (the audit log's next line needs a page), then the
 * answer arrives. With `pinned`, a reader holding a snapshot (a backup, a sqlite3 shell) keeps
 * SQLite from reusing its log meanwhile, so the refreshed record needs space the disk no longer has.
 */
async function refreshWhileTheDiskFills(pinned = false, fields?: Record<string, unknown>): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  await makeDue(home, 'testas');
  padToPage(join(home, 'audit.log'));
  const reader = pinned ? new Database(join(home, 'profiles', 'default', 'store.db'), { readonly: true }) : null;
  reader?.prepare('BEGIN').run();
  reader?.prepare('SELECT count(*) FROM kv').get();
  try {
    gate.mode('hold-response', { fields });
    const getting = startCli(['get', 'testas', '--json'], { env });
    const held = await Promise.race([gate.nextHeld().then(() => true), getting.done.then(() => false)]);
    if (!held) assert.fail(`the refresh never reached the token endpoint: ${JSON.stringify(await getting.done)}`);
    disk.fill();
    gate.mode('pass');
    gate.release();
    const result = await getting.done;
    return { code: result.code, json: JSON.parse(result.stdout || '{}') as Record<string, unknown>, stderr: result.stderr };
  } finally {
    reader?.prepare('COMMIT').run();
    reader?.close();
  }
}

describe('a disk that fills during a refresh', () => {
  it('the refreshed pair is stored in the space reserved before the token was spent; the audit failure is a warning', async () => {
    const before = await secret('refresh_token');
    await as.resetCounts();
    const result = await refreshWhileTheDiskFills();
    disk.free();
    assert.equal(result.code, 0, JSON.stringify(result));
    assert.equal(result.json.status, 'connected', JSON.stringify(result.json));
    assert.doesNotMatch(result.stderr, /Error|ENOSPC: no space/);
    assert.match(result.stderr, /Warning: .*audit log.*ENOSPC/);
    assert.notEqual(await secret('refresh_token'), before, 'the rotated refresh token was stored');
    assert.equal((await as.counts()).token.refresh_token, 1);
    assert.equal(existsSync(join(home, 'rescue')), false, 'no rescue file was needed, and the reservation is gone');
    await assertGrantAlive();
  });

  it('when the store still cannot take it, the pair is rescued to a file, restored by the next access, and the grant stays alive', async () => {
    const result = await refreshWhileTheDiskFills(true, { instance_url: 'https://org7.example.com' });
    assert.equal(result.code, 0, JSON.stringify(result));
    assert.doesNotMatch(result.stderr, /Error/);
    const rescued = /Warning: refresh of testas \(default\): the renewed tokens could not be written to the store \((.*)\); they were rescued to (\S+) \(encrypted\) and the next access writes them to the store/.exec(result.stderr);
    assert.ok(rescued, result.stderr);
    assert.match(rescued[1]!, /ENOSPC|disk is full/);
    assert.equal(result.json.status, 'connected');
    const file = rescued[2]!;
    assert.ok(existsSync(file));
    // The rescue file is sealed with the current key: rekey waits until the tokens are in the store.
    const rekey = await runCliJson<{ error: string; message: string }>(['rekey'], { env });
    assert.deepEqual([rekey.code, rekey.json.error], [2, 'conflict']);
    assert.match(rekey.json.message, /renewed tokens of testas \(default\) wait in a rescue file/);

    disk.free();
    // The next access writes the rescued pair to the store, removes the file, and uses the pair.
    const token = await secret('access_token');
    assert.equal(existsSync(file), false, 'the rescue file is removed once restored');
    assert.equal(await as.isActive(token), true, 'the rescued access token is the live one');
    const log = (await runCli(['log', '--event', 'refresh', '-n', '1', '--json'], { env })).stdout.trim();
    assert.equal(JSON.parse(log).outcome, 'restored');
    // The instance_url of the rescued refresh answer came through the rescue file.
    const route = await runCliJson<{ decision: string; provider: string }>(['route', 'https://org7.example.com/services/data', '--json'], { env });
    assert.deepEqual([route.code, route.json.decision, route.json.provider], [0, 'inject', 'testas'], route.stdout);
    await assertGrantAlive();
  });
});
