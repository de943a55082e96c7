// Proves the canary check: which files it reads, what it reports.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoTokenIn } from './canary.ts';
import { cleanupHomes, tempDir } from './homes.ts';

after(cleanupHomes);

const TOKEN = 'Zm9vYmFyLXRva2VuLXZhbHVlLTEyMzQ1Njc4OTA';

function home(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'profiles', 'default'), { recursive: true });
  writeFileSync(join(dir, 'audit.log'), '{"event": "login"}\n');
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'logs', 'daemon.log'), 'started\n');
  return dir;
}

test('a clean home passes; missing paths and short tokens are ignored', async () => {
  const dir = home();
  await assertNoTokenIn([dir, join(dir, 'nope')], [TOKEN, 'short']);
  writeFileSync(join(dir, 'audit.log'), 'short\n');
  await assertNoTokenIn([dir], ['short']);
});

test('finds a token in audit.log, *.json and logs/*, naming the file and 8 characters', async () => {
  for (const file of ['audit.log', join('profiles', 'default', 'metadata.json'), join('logs', 'daemon.log.1')]) {
    const dir = home();
    writeFileSync(join(dir, file), `first line\nsecret=${TOKEN}\n`);
    await assert.rejects(assertNoTokenIn([dir], ['other-token-value', TOKEN]), (err: Error) => {
      assert.ok(err instanceof assert.AssertionError);
      assert.ok(err.message.includes(join(dir, file)), err.message);
      assert.ok(err.message.includes(TOKEN.slice(0, 8)) && !err.message.includes(TOKEN.slice(0, 9)), err.message);
      assert.match(err.message, /line 2/);
      return true;
    });
  }
});

test('skips store.db* and other non-text files inside folders; a file named directly is read', async () => {
  const dir = home();
  for (const name of ['store.db', 'store.db-wal', 'store.db-shm']) writeFileSync(join(dir, 'profiles', 'default', name), TOKEN);
  writeFileSync(join(dir, 'master.key'), TOKEN);
  await assertNoTokenIn([dir, join(dir, 'profiles', 'default', 'store.db')], [TOKEN]);
  await assert.rejects(assertNoTokenIn([join(dir, 'master.key')], [TOKEN]), /master\.key/);
});
