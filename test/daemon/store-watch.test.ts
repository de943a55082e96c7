// The daemon's view of which connections may be due (store-watch.ts): the background refresh asks
// it on every scan, so it answers from the earliest renew_from it remembers — and that answer must
// follow every change the store's feed brings: a token made due, renewed, or removed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Authsome } from '../../src/broker/index.ts';
import { watchStore, type StoreWatch } from '../../src/daemon/store-watch.ts';
import { toRecordTimestamp } from '../../src/util/index.ts';
import { keys, orderRecord, Vault, type ConnectionRecord } from '../../src/vault/index.ts';
import { cleanupHomes, tempDir } from '../support/homes.ts';

after(cleanupHomes);

const PROFILE = 'default';
const DAY_MS = 86_400_000;

function oauth(provider: string, expiresAt: number): ConnectionRecord {
  return orderRecord('connection', {
    provider, profile: PROFILE, connection_name: 'default', status: 'connected', auth_type: 'oauth2',
    access_token: `at-${randomBytes(12).toString('hex')}`, refresh_token: `rt-${randomBytes(12).toString('hex')}`, token_type: 'Bearer', scopes: ['read'],
    obtained_at: toRecordTimestamp(new Date(expiresAt - 30 * DAY_MS)), expires_at: toRecordTimestamp(new Date(expiresAt)),
    account: { id: null, label: null }, metadata: { generation: 1 },
  } as ConnectionRecord);
}

/** Resolves once the watch has passed on a change to provider's connection. */
function changeOf(watch: StoreWatch, provider: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = watch.subscribe((change) => {
      if ((change.kind === 'changed' ? change.view.provider : change.provider) !== provider) return;
      stop();
      resolve();
    });
  });
}

const dueNames = (watch: StoreWatch, now: number) => watch.dueCandidates(now)?.map((view) => view.provider).sort();

describe('the daemon store watch: connections that may be due', () => {
  // A write the feed never passes on fails the test instead of hanging it.
  it('answers from the earliest renew_from, and follows a token made due, renewed and removed', { timeout: 30_000 }, async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const vault = new Vault({ home, secrets: { masterKey, passphrase: undefined } });
    const now = Date.now();
    const write = (record: ConnectionRecord) => vault.write(PROFILE, 'connection', keys.connection(PROFILE, record.provider, 'default'), record);
    await write(oauth('github', now + 30 * DAY_MS));
    await write(oauth('gitlab', now + 20 * DAY_MS));
    const authsome = new Authsome({ home, env: { AUTHSOME_MASTER_KEY: masterKey } });
    const watch = watchStore(authsome, () => undefined);
    // The feed's poll does not hold the process open (a daemon's server does): this test's waits must.
    const alive = setInterval(() => undefined, 1000);
    try {
      await watch.ready();
      assert.equal(watch.feed(), 'listening');
      assert.deepEqual(dueNames(watch, now), [], 'nothing is due yet');
      assert.deepEqual(dueNames(watch, now + 25 * DAY_MS), ['gitlab']);
      assert.deepEqual(dueNames(watch, now + 31 * DAY_MS), ['github', 'gitlab']);

      // Another process makes github's token due: the next scan sees it, though the earliest it knew was gitlab's.
      let seen = changeOf(watch, 'github');
      await write(oauth('github', now - 1000));
      await seen;
      assert.deepEqual(dueNames(watch, Date.now()), ['github']);

      // Renewed: due no more.
      seen = changeOf(watch, 'github');
      await write({ ...oauth('github', Date.now() + 30 * DAY_MS), metadata: { generation: 2 } });
      await seen;
      assert.deepEqual(dueNames(watch, Date.now()), []);
      assert.deepEqual(dueNames(watch, now + 25 * DAY_MS), ['gitlab']);

      // Removed: never named again.
      seen = changeOf(watch, 'gitlab');
      await vault.delete(PROFILE, keys.connection(PROFILE, 'gitlab', 'default'));
      await seen;
      assert.deepEqual(dueNames(watch, now + 25 * DAY_MS), []);
      assert.deepEqual(dueNames(watch, now + 31 * DAY_MS), ['github']);
    } finally {
      clearInterval(alive);
      await watch.stop();
      await authsome.close();
      await vault.close();
    }
  });
});
