// rekey: every record of every profile moves to a new key; the old key stops working, nothing is
// lost, and an interrupted rekey is recoverable. Also the passphrase key source.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson, runCliJsonLines } from '../support/cli.ts';
import { FIXTURE_KEY, cleanupHomes, fixtureHome, freshHome } from '../support/homes.ts';
import { openValue, sealValue, SqliteStore } from '../../src/vault/index.ts';

after(cleanupHomes);

async function rows(home: string, profile: string) {
  const store = SqliteStore.open(join(home, 'profiles', profile, 'store.db'), { create: false });
  const entries = await store.list('');
  await store.close();
  return entries;
}

describe('rekey', () => {
  test('re-encrypts every record under a new key and removes the backup once verified', async () => {
    const home = fixtureHome();
    const oldKey = Buffer.from(FIXTURE_KEY, 'base64');
    const before = new Map<string, string>();
    for (const profile of ['default', 'work']) for (const row of await rows(home, profile)) before.set(row.key, openValue(oldKey, row.value)!);
    const listed = await runCliJson(['list'], { home });
    assert.ok(existsSync(join(home, 'cache')), 'list left its memo, sealed with the old key');

    const { code, json } = await runCliJson<{ records: number; profiles: string[] }>(['rekey'], { home });
    assert.equal(code, 0);
    assert.deepEqual([json.records, json.profiles], [11, ['default', 'work']]);

    const newKey = Buffer.from(JSON.parse(readFileSync(join(home, 'master.key'), 'utf8')).key, 'base64');
    assert.notDeepEqual(newKey, oldKey);
    for (const profile of ['default', 'work']) {
      for (const row of await rows(home, profile)) {
        assert.equal(openValue(newKey, row.value), before.get(row.key), `${row.key} keeps its plaintext`);
        assert.equal(openValue(oldKey, row.value), null, `${row.key} no longer opens with the old key`);
      }
    }
    assert.deepEqual(readdirSync(home).filter((name) => name.startsWith('master.key')), ['master.key'], 'no backup or staged key left');
    assert.ok(!existsSync(join(home, 'cache')), 'nothing sealed with the old key is left: the list memo is gone');
    assert.deepEqual((await runCliJson(['list'], { home })).json, listed.json, 'and the next list rebuilds it');
    assert.equal((await runCli(['get', 'github', '--field', 'access_token', '--show-secret'], { home })).stdout, 'gho_fixture_access_1\n');
    const log = await runCliJsonLines<{ event: string; records?: number }>(['log', '--event', 'rekey'], { home });
    assert.equal(log.lines[0]?.records, 11);
  });

  test('an interrupted rekey (some values under the staged key) still reads, and rekey finishes it', async () => {
    const home = fixtureHome();
    const oldKey = Buffer.from(FIXTURE_KEY, 'base64');
    const staged = Buffer.alloc(32, 7);
    writeFileSync(join(home, 'master.key.next'), JSON.stringify({ version: 1, key: staged.toString('base64') }), { mode: 0o600 });
    // Simulate a crash after the work profile was rewritten with the staged key.
    const store = SqliteStore.open(join(home, 'profiles', 'work', 'store.db'), { create: false });
    for (const row of await store.list('')) await store.put(row.key, sealValue(staged, openValue(oldKey, row.value)!));
    await store.close();

    assert.equal((await runCli(['get', 'resend', '--profile', 'work', '--field', 'api_key', '--show-secret'], { home })).stdout, 'sk-ant-fixture-000\n');
    const doctor = await runCliJson<{ findings: Array<{ check: string }> }>(['doctor'], { home });
    assert.ok(doctor.json.findings.some((f) => f.check === 'rekey'), 'doctor reports the unfinished rekey');
    assert.equal((await runCli(['rekey'], { home })).code, 0);
    assert.equal(existsSync(join(home, 'master.key.next')), false);
    const finalKey = Buffer.from(JSON.parse(readFileSync(join(home, 'master.key'), 'utf8')).key, 'base64');
    assert.deepEqual(finalKey, staged, 'the staged key was reused, so nothing sealed with it was orphaned');
    for (const profile of ['default', 'work']) for (const row of await rows(home, profile)) assert.notEqual(openValue(finalKey, row.value), null);
  });

  test('with AUTHSOME_MASTER_KEY the new key must come from AUTHSOME_NEW_MASTER_KEY', async () => {
    const home = fixtureHome();
    const refused = await runCliJson<{ error: string }>(['rekey'], { home, env: { AUTHSOME_MASTER_KEY: FIXTURE_KEY } });
    assert.deepEqual([refused.code, refused.json.error], [2, 'input_required']);
    const next = Buffer.alloc(32, 9).toString('base64');
    const done = await runCli(['rekey'], { home, env: { AUTHSOME_MASTER_KEY: FIXTURE_KEY, AUTHSOME_NEW_MASTER_KEY: next } });
    assert.equal(done.code, 0, done.stderr);
    const got = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home, env: { AUTHSOME_MASTER_KEY: next } });
    assert.equal(got.stdout, 'sk-fixture-openai-000000000000\n');
  });
});

describe('passphrase key source', () => {
  test('keeps no key file, reads with the right passphrase, refuses a wrong or missing one', async () => {
    const home = freshHome();
    const env = { AUTHSOME_PASSPHRASE: 'correct horse battery staple' };
    assert.equal((await runCli(['init', '--key-source', 'passphrase'], { home, env })).code, 0);
    assert.equal(existsSync(join(home, 'master.key')), false);
    const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'));
    assert.equal(config.encryption.mode, 'passphrase');
    assert.equal(config.encryption.kdf.name, 'scrypt');
    assert.equal(JSON.stringify(config).includes(env.AUTHSOME_PASSPHRASE), false);
    assert.equal((await runCli(['login', 'openai', '--api-key-stdin'], { home, env, input: 'sk-pass-0000000000000000' })).code, 0);
    assert.equal((await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home, env })).stdout, 'sk-pass-0000000000000000\n');
    const wrong = await runCliJson<{ error: string }>(['get', 'openai'], { home, env: { AUTHSOME_PASSPHRASE: 'wrong' } });
    assert.deepEqual([wrong.code, wrong.json.error], [7, 'master_key_mismatch']);
    const missing = await runCliJson<{ error: string; hint: string }>(['get', 'openai'], { home });
    assert.deepEqual([missing.code, missing.json.error], [7, 'master_key_unavailable']);
    assert.match(missing.json.hint, /AUTHSOME_PASSPHRASE/);
  });

  test('the keyring source fails clearly where no Secret Service exists, naming local_key', async () => {
    const result = await runCliJson<{ error: string; hint: string }>(['init', '--key-source', 'keyring'], { home: freshHome(), env: { DBUS_SESSION_BUS_ADDRESS: undefined } });
    assert.equal(result.code, 7);
    assert.equal(result.json.error, 'master_key_unavailable');
    assert.match(result.json.hint, /local_key/);
  });
});
