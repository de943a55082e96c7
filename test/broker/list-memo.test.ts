// `list` remembers what it showed of each record (vault/projection-memo.ts) and opens only the
// values that changed since: checked in-process through the secrets the vault reports as it
// decrypts (none for a remembered record), and through the CLI against writers that are not this
// list — another authsome process, and Python's own sqlite3 writing the store the way the Python
// authsome does. The memo holds no secret, is private, and a memo that does not open is rebuilt.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SUMMARY_PROJECTION } from '../../src/broker/summary-projection.ts';
import { openBytes, sealBytes, sealValue } from '../../src/vault/codec.ts';
import { VERSION } from '../../src/util/index.ts';
import { fingerprintOf } from '../../src/vault/store.ts';
import { keys, orderRecord, PgStore, serializeRecord, SqliteStore, Vault, type ConnectionRecord } from '../../src/vault/index.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { cleanupHomes, tempDir } from '../support/homes.ts';
import { startPostgres } from '../support/postgres.ts';

after(cleanupHomes);

const PROFILE = 'default';
const PREFIX = keys.profilePrefix(PROFILE);

function connection(provider: string, name: string, fields: Partial<ConnectionRecord>): ConnectionRecord {
  return orderRecord('connection', {
    provider, profile: PROFILE, connection_name: name, status: 'connected', account: { id: null, label: null }, metadata: {}, ...fields,
  } as ConnectionRecord);
}

const apiKey = (provider: string, name: string) => connection(provider, name, { auth_type: 'api_key', api_key: `sk-${randomBytes(12).toString('hex')}` });
const oauth = (provider: string, name: string) => connection(provider, name, {
  auth_type: 'oauth2', access_token: `at-${randomBytes(12).toString('hex')}`, refresh_token: `rt-${randomBytes(12).toString('hex')}`,
  scopes: ['read'], token_type: 'Bearer', obtained_at: '2026-12-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z',
  account: { id: 'u1', label: 'ada@example.com' },
});

/** A vault on a fresh home whose every reported secret lands in `seen`. */
function openVault(home: string, masterKey: string, seen: string[]): Vault {
  return new Vault({ home, secrets: { masterKey, passphrase: undefined }, onSecret: (value) => seen.push(value) });
}

/** Stores each record as its connection. */
async function writeAll(vault: Vault, records: ConnectionRecord[]): Promise<void> {
  for (const r of records) await vault.write(PROFILE, 'connection', keys.connection(PROFILE, r.provider, r.connection_name), r);
}

const secretsOf = (record: ConnectionRecord) => [record.api_key, record.access_token, record.refresh_token].filter((v): v is string => Boolean(v));
const memoFile = (home: string) => join(home, 'cache', `${SUMMARY_PROJECTION.id}.${PROFILE}.sealed`);

describe('the list memo', () => {
  it('opens every value once, then only the ones written since; a removed record leaves the memo', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const records = [apiKey('openai', 'default'), oauth('github', 'default'), oauth('github', 'work')];
    const seen: string[] = [];
    const vault = openVault(home, masterKey, seen);
    try {
      await writeAll(vault, records);
      seen.length = 0;

      const first = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(first.records.map((r) => r.key), records.map((r) => keys.connection(PROFILE, r.provider, r.connection_name)).sort());
      assert.deepEqual(seen.sort(), records.flatMap(secretsOf).sort(), 'the first list opens every value');

      seen.length = 0;
      const written = statSync(memoFile(home)).ino;
      const second = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(second, first, 'the same records, from the memo');
      assert.deepEqual(seen, [], 'a remembered record is not opened: no secret was read');
      assert.equal(statSync(memoFile(home)).ino, written, 'nor the memo written again (it is replaced by a rename when it is)');

      const changed = { ...records[1]!, status: 'invalid' as const, access_token: 'at-changed-0000000000' };
      await vault.write(PROFILE, 'connection', keys.connection(PROFILE, 'github', 'default'), changed);
      await vault.delete(PROFILE, keys.connection(PROFILE, 'github', 'work'));
      seen.length = 0;
      const third = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(seen.sort(), secretsOf(changed).sort(), 'only the rewritten record is opened');
      assert.deepEqual(third.records.map((r) => [r.key, r.projected.status]), [
        [keys.connection(PROFILE, 'github', 'default'), 'invalid'],
        [keys.connection(PROFILE, 'openai', 'default'), 'connected'],
      ]);
      const memo = JSON.parse(openBytes(Buffer.from(masterKey, 'base64'), readFileSync(memoFile(home)))!) as { keys: string };
      assert.equal(memo.keys, keys.connection(PROFILE, 'github', 'default') + keys.connection(PROFILE, 'openai', 'default'), 'the removed record left the memo');
    } finally {
      await vault.close();
    }
  });

  it('keeps no secret, is private, and a memo that does not open (another key, damage) is rebuilt', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const records = [apiKey('openai', 'default'), oauth('github', 'default')];
    const seen: string[] = [];
    const vault = openVault(home, masterKey, seen);
    try {
      await writeAll(vault, records);
      const expected = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      const file = memoFile(home);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(home, 'cache')).mode & 0o777, 0o700);
      const sealed = readFileSync(file);
      const plaintext = openBytes(Buffer.from(masterKey, 'base64'), sealed)!;
      for (const secret of records.flatMap(secretsOf)) {
        assert.ok(!plaintext.includes(secret), 'the memo holds no secret');
        assert.ok(!sealed.includes(Buffer.from(secret)), 'nor does the file');
      }
      assert.match(plaintext, /ada@example\.com/, 'it is sealed: the account label is only inside');
      assert.ok(!sealed.includes(Buffer.from('ada@example.com')));

      for (const damage of [randomBytes(sealed.length), Buffer.from(sealValue(randomBytes(32), plaintext)), Buffer.alloc(0)]) {
        writeFileSync(file, damage);
        seen.length = 0;
        assert.deepEqual(await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION), expected);
        assert.deepEqual(seen.sort(), records.flatMap(secretsOf).sort(), 'every value opened again');
        assert.ok(openBytes(Buffer.from(masterKey, 'base64'), readFileSync(file)), 'and the memo rewritten');
      }
    } finally {
      await vault.close();
    }
  });
});

describe('the compact memo', () => {
  it('a record added before the others, one removed between them and one rewritten: only the new values are opened, the rest read from the memo', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const records = ['b', 'c', 'd', 'e', 'f'].map((name) => oauth('github', name));
    const seen: string[] = [];
    const vault = openVault(home, masterKey, seen);
    const keyOf = (r: ConnectionRecord) => keys.connection(PROFILE, r.provider, r.connection_name);
    try {
      for (const r of records) await vault.write(PROFILE, 'connection', keyOf(r), r);
      await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);

      const added = apiKey('anthropic', 'default'); // sorts before every github key: no memo entry lines up with its own index any more
      const rewritten = { ...records[4]!, status: 'invalid' as const, refresh_token: 'rt-rewritten-000000000000' };
      await vault.write(PROFILE, 'connection', keyOf(added), added);
      await vault.delete(PROFILE, keyOf(records[2]!));
      await vault.write(PROFILE, 'connection', keyOf(rewritten), rewritten);
      seen.length = 0;
      const after = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(seen.sort(), [...secretsOf(added), ...secretsOf(rewritten)].sort(), 'only the added and the rewritten record are opened');
      const listed = await vault.list(PROFILE, PREFIX);
      assert.deepEqual(after.records.map((r) => [r.key, r.parsed]), listed.records.map((r) => [r.key, r.parsed]));
      assert.deepEqual(after.records.map((r) => r.projected), listed.records.map((r) => SUMMARY_PROJECTION.project('connection', r.record as ConnectionRecord)),
        'each record as the projection keeps it, whether from the memo or opened');
      seen.length = 0;
      assert.deepEqual(await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION), after, 'and the memo rewritten to match');
      assert.deepEqual(seen, []);
    } finally {
      await vault.close();
    }
  });

  it('keys that hold line breaks, quotes or characters beyond ASCII (a shared store\'s rows are anyone\'s input) are remembered each as its own', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    // Joined with a separator, "a" then "\nb…" and "a\nb" would read alike; the memo keeps lengths instead.
    const names = ['a', 'a\nb', 'ab', 'é"\\', '😀', 'a\n'];
    const records = names.map((name) => oauth('github', name));
    const seen: string[] = [];
    const vault = openVault(home, masterKey, seen);
    try {
      await writeAll(vault, records);
      const first = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(first.records.map((r) => r.projected.connection_name).sort(), [...names].sort());
      seen.length = 0;
      assert.deepEqual(await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION), first);
      assert.deepEqual(seen, [], 'every one read from the memo');
      const rewritten = { ...records[1]!, status: 'invalid' as const };
      await vault.write(PROFILE, 'connection', keys.connection(PROFILE, 'github', 'a\nb'), rewritten);
      seen.length = 0;
      const after = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(seen.sort(), secretsOf(rewritten).sort(), 'only the rewritten one opened');
      assert.deepEqual(after.records.filter((r) => r.projected.status === 'invalid').map((r) => r.parsed.connection), ['a\nb']);
    } finally {
      await vault.close();
    }
  });

  it('a memo in the layout of the version before (one object per record) is not read: every value is opened and the memo rewritten', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const record = oauth('github', 'default');
    const key = keys.connection(PROFILE, 'github', 'default');
    const seen: string[] = [];
    const vault = openVault(home, masterKey, seen);
    try {
      await vault.write(PROFILE, 'connection', key, record);
      const expected = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      const store = SqliteStore.open(join(home, 'profiles', PROFILE, 'store.db'), { create: false });
      const fingerprint = fingerprintOf((await store.get(key))!);
      await store.close();
      // What summary-1 wrote, for the very value stored, but saying something the record does not:
      // read as a memo, it would show the connection revoked.
      const old = { version: VERSION, prefix: PREFIX, entries: { 'github:connection:default': [fingerprint, { ...expected.records[0]!.projected, status: 'revoked' }] } };
      writeFileSync(memoFile(home), sealBytes(Buffer.from(masterKey, 'base64'), JSON.stringify(old)));
      seen.length = 0;
      assert.deepEqual(await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION), expected);
      assert.deepEqual(seen.sort(), secretsOf(record).sort(), 'the value was opened again');
      const rewritten = JSON.parse(openBytes(Buffer.from(masterKey, 'base64'), readFileSync(memoFile(home)))!) as { keys?: string; keyLengths?: number[] };
      assert.deepEqual([rewritten.keys, rewritten.keyLengths], [key, [key.length]], 'and the memo rewritten in the current layout');
    } finally {
      await vault.close();
    }
  });

  it('each repeated value is kept once, and what several records share cannot be changed through one of them', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const records = Array.from({ length: 20 }, (_, i) => oauth('github', `c-${String(i).padStart(2, '0')}`));
    const vault = openVault(home, masterKey, []);
    try {
      await writeAll(vault, records);
      const first = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      const plaintext = openBytes(Buffer.from(masterKey, 'base64'), readFileSync(memoFile(home)))!;
      assert.equal(plaintext.split('ada@example.com').length - 1, 1, 'the account all 20 records share is written once');
      assert.equal(plaintext.split('"scopes"').length - 1, 1, 'and each field name once per set of fields');

      const { records: remembered } = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(remembered, first.records);
      const scopes = remembered[0]!.projected.scopes as string[];
      assert.throws(() => scopes.push('admin'), TypeError, 'a shared value is frozen');
      assert.deepEqual(remembered[1]!.projected.scopes, ['read'], 'so the next record still has its own scopes');
    } finally {
      await vault.close();
    }
  });
});

describe('the list memo against damage and hostile names', () => {
  it('more than a few changed values are read in one pass; a value cut inside (both ends kept) is reported, never shown as before', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const records = Array.from({ length: 100 }, (_, i) => apiKey('openai', `bulk-${String(i).padStart(3, '0')}`));
    const vault = openVault(home, masterKey, []);
    try {
      await writeAll(vault, records);
      const listed = await vault.list(PROFILE, PREFIX);
      const projected = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(projected.records.map((r) => r.key), listed.records.map((r) => r.key), 'the same records as list()');
      assert.deepEqual(projected.problems, []);

      // Damage that keeps the nonce, the tag and everything else at both ends: 4 characters cut from the middle.
      const damagedKey = keys.connection(PROFILE, 'openai', 'bulk-007');
      const store = SqliteStore.open(join(home, 'profiles', PROFILE, 'store.db'), { create: false });
      const value = (await store.get(damagedKey))!;
      const middle = Math.floor(value.length / 2);
      await store.put(damagedKey, value.slice(0, middle) + value.slice(middle + 4));
      await store.close();
      const after = await vault.listProjected(PROFILE, PREFIX, SUMMARY_PROJECTION);
      assert.deepEqual(after.problems.map((p) => p.key), [damagedKey], 'the damaged record is a problem, as list() reports it');
      assert.equal(after.records.length, 99);
    } finally {
      await vault.close();
    }
  });

  it('a shared store\'s profile name that is no name writes no memo anywhere', async () => {
    const server = await startPostgres();
    const base = tempDir();
    const home = join(base, 'home');
    mkdirSync(join(home, 'rescue'), { recursive: true, mode: 0o700 });
    const rescued = join(home, 'rescue', '0123456789abcdef.sealed');
    writeFileSync(rescued, 'a rescued token pair', { mode: 0o600 });
    const masterKey = randomBytes(32).toString('base64');
    // As a path part it would climb out of cache/ to <home>/rescue/0123456789abcdef.sealed, over a rescued token.
    const profile = '/../../rescue/0123456789abcdef';
    try {
      // Written straight into the shared table, as anyone with access to the database could (no key needed to write a row).
      const store = await PgStore.open(server.url, { profile });
      const record = apiKey('openai', 'default');
      const key = `profile:${profile}:openai:connection:default`;
      await store.put(key, sealValue(Buffer.from(masterKey, 'base64'), serializeRecord('connection', { ...record, profile })));
      await store.close();
      const vault = new Vault({ home, secrets: { masterKey, passphrase: undefined }, storeUrl: server.url });
      try {
        const { records } = await vault.listProjected(profile, `profile:${profile}:`, SUMMARY_PROJECTION);
        assert.equal(records.length, 1, 'listed all the same');
      } finally {
        await vault.close();
      }
      const sealed = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? sealed(join(dir, e.name)) : e.name.endsWith('.sealed') ? [join(dir, e.name)] : []);
      assert.deepEqual(sealed(base), [rescued], 'no memo file, in the home or outside it');
      assert.equal(readFileSync(rescued, 'utf8'), 'a rescued token pair', 'the rescue file is untouched');
    } finally {
      await server.stop();
    }
  });
});

describe('authsome list with a memo, and other writers', () => {
  it('shows what another authsome process and Python\'s sqlite3 wrote since the last list', async () => {
    const home = tempDir();
    const masterKey = randomBytes(32).toString('base64');
    const options = { home, env: { AUTHSOME_MASTER_KEY: masterKey } };
    for (const [provider, key] of [['openai', 'sk-first-0000000000000000'], ['anthropic', 'sk-ant-0000000000000000']] as const) {
      const login = await runCli(['login', provider, '--api-key-stdin'], { ...options, input: key });
      assert.equal(login.code, 0, login.stderr);
    }
    type Listed = { bundled: Array<{ name: string; connections: Array<{ connection_name: string; status: string }> }> };
    const connected = (list: Listed) => list.bundled.filter((p) => p.connections.length > 0).map((p) => [p.name, p.connections.map((c) => `${c.connection_name}:${c.status}`).join(',')]);
    const listed = async () => {
      const result = await runCliJson<Listed>(['list'], options);
      assert.equal(result.code, 0, result.stderr);
      return result.json;
    };

    const first = await listed();
    assert.deepEqual(connected(first), [['anthropic', 'default:connected'], ['openai', 'default:connected']]);
    assert.deepEqual(await listed(), first, 'the same answer from the memo');
    assert.ok(readdirSync(join(home, 'cache')).length === 1);
    const wrongKey = await runCliJson<{ error: string }>(['list'], { home, env: { AUTHSOME_MASTER_KEY: randomBytes(32).toString('base64') } });
    assert.notEqual(wrongKey.code, 0);
    assert.equal(wrongKey.json.error, 'master_key_mismatch', 'a wrong key is still refused, memo or not');

    // Another authsome process: a second openai connection and anthropic revoked.
    assert.equal((await runCli(['login', 'openai', '--connection', 'second', '--api-key-stdin'], { ...options, input: 'sk-second-000000000000000' })).code, 0);
    assert.equal((await runCli(['revoke', 'anthropic'], options)).code, 0);
    assert.deepEqual(connected(await listed()), [['openai', 'default:connected,second:connected']]);

    // Python's sqlite3, as the Python authsome writes: the openai default connection marked invalid.
    const recordKey = keys.connection(PROFILE, 'openai', 'default');
    const vault = new Vault({ home, secrets: { masterKey, passphrase: undefined } });
    const current = (await vault.read(PROFILE, 'connection', recordKey))!;
    await vault.close();
    const sealed = sealValue(Buffer.from(masterKey, 'base64'), serializeRecord('connection', { ...current, status: 'invalid' }));
    execFileSync('python3', ['-c', [
      'import sqlite3, sys',
      'db = sqlite3.connect(sys.argv[1])',
      'db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (sys.argv[2], sys.argv[3]))',
      'db.commit()',
    ].join('\n'), join(home, 'profiles', PROFILE, 'store.db'), recordKey, sealed]);
    assert.deepEqual(connected(await listed()), [['openai', 'default:invalid,second:connected']]);
  });
});
