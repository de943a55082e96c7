// The store is a contract with the Python authsome 0.2.3: every row of its fixture store reads back
// exactly, and what we write reads back with the same codec and field order.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Vault, openValue, serializeRecord, keys, orderRecord, type RecordKind } from '../../src/vault/index.ts';
import { FIXTURE_DIR, FIXTURE_KEY, cleanupHomes, fixtureHome } from '../support/homes.ts';

interface ExpectedRow { profile: string; key: string; value: string; plaintext: string }
const expected = JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8')) as {
  rows: ExpectedRow[]; schema: string; sqlite_master: Array<{ name: string; sql: string | null }>;
};
const key = Buffer.from(FIXTURE_KEY, 'base64');
const noSecrets = { masterKey: undefined, passphrase: undefined };

after(cleanupHomes);

describe('reading the Python fixture store', () => {
  test('every kv row decrypts to its expected plaintext and re-serializes byte for byte', async () => {
    const vault = new Vault({ home: fixtureHome(), secrets: noSecrets });
    for (const row of expected.rows) {
      const stored = await vault.store(row.profile).get(row.key);
      assert.equal(stored, row.value, `${row.key}: stored value`);
      assert.equal(await vault.decrypt(row.key, stored!), row.plaintext, `${row.key}: plaintext`);
      const kind = row.key.split(':')[3] as RecordKind;
      const record = await vault.read(row.profile, kind, row.key);
      assert.ok(record, `${row.key}: parsed`);
      assert.equal(serializeRecord(kind, record), row.plaintext, `${row.key}: re-serialized`);
    }
    await vault.close();
  });

  test('listing a profile returns exactly the expected keys in key order', async () => {
    const vault = new Vault({ home: fixtureHome(), secrets: noSecrets });
    for (const profile of ['default', 'work']) {
      const { records, problems } = await vault.list(profile, keys.profilePrefix(profile));
      assert.deepEqual(problems, []);
      assert.deepEqual(records.map((r) => r.key), expected.rows.filter((r) => r.profile === profile).map((r) => r.key));
    }
    await vault.close();
  });

  test('the key from AUTHSOME_MASTER_KEY reads the store without master.key', async () => {
    const home = fixtureHome();
    rmSync(join(home, 'master.key'));
    const vault = new Vault({ home, secrets: { masterKey: FIXTURE_KEY, passphrase: undefined } });
    const record = await vault.read('default', 'connection', 'profile:default:openai:connection:default');
    assert.equal(record?.api_key, 'sk-fixture-openai-000000000000');
    await vault.close();
  });
});

describe('writing into the Python store', () => {
  test('a new record uses a fresh nonce, the Python value format, compact JSON in field order, no AAD', async () => {
    const home = fixtureHome();
    const vault = new Vault({ home, secrets: noSecrets });
    const recordKey = keys.connection('default', 'github', 'second');
    const record = orderRecord('connection', {
      // Deliberately out of order, with an unknown field: the writer orders known fields and keeps extras last.
      metadata: {}, connection_name: 'second', provider: 'github', profile: 'default', auth_type: 'oauth2', status: 'connected',
      access_token: 'gho_second_token', future_field: { kept: true },
    });
    await vault.write('default', 'connection', recordKey, record);
    await vault.write('default', 'connection', recordKey + 'b', record);
    await vault.close();

    const db = new Database(join(home, 'profiles', 'default', 'store.db'), { readonly: true });
    const rows = db.prepare('SELECT key, value FROM kv ORDER BY key').all() as Array<{ key: string; value: string }>;
    const schema = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'kv'").get() as { sql: string };
    db.close();
    assert.equal(schema.sql, expected.schema, 'the kv table is untouched');

    const mine = rows.find((r) => r.key === recordKey)!;
    const twin = rows.find((r) => r.key === recordKey + 'b')!;
    const [nonce, body] = mine.value.split('.');
    assert.equal(nonce!.length, 16, 'a 12-byte nonce is 16 base64 characters');
    assert.match(body!, /^[A-Za-z0-9+/]+=*$/);
    assert.notEqual(mine.value.slice(0, 16), twin.value.slice(0, 16), 'every value gets its own nonce');
    const plaintext = openValue(key, mine.value);
    assert.equal(
      plaintext,
      '{"schema_version":2,"provider":"github","profile":"default","connection_name":"second","auth_type":"oauth2","status":"connected",' +
        '"base_url":null,"host_url":null,"scopes":null,"access_token":"gho_second_token","refresh_token":null,"token_type":null,' +
        '"expires_at":null,"obtained_at":null,"api_key":null,"account":{"id":null,"label":null},"metadata":{},"future_field":{"kept":true}}',
    );
    // Every earlier row still decrypts to what Python wrote.
    for (const row of expected.rows.filter((r) => r.profile === 'default')) {
      assert.equal(openValue(key, rows.find((r) => r.key === row.key)!.value), row.plaintext);
    }
  });

  test('rewriting a record keeps fields this version does not know', async () => {
    const home = fixtureHome();
    const vault = new Vault({ home, secrets: noSecrets });
    const recordKey = 'profile:default:github:state';
    const state = await vault.read('default', 'state', recordKey);
    await vault.write('default', 'state', recordKey, { ...state!, python_next: [1, 2], metadata: { note: 'x' } });
    const text = await vault.decrypt(recordKey, (await vault.store('default').get(recordKey))!);
    assert.equal(text, '{"schema_version":2,"provider":"github","profile":"default","last_refresh_at":"2026-11-25T12:00:00Z","last_refresh_error":null,"metadata":{"note":"x"},"python_next":[1,2]}');
    await vault.close();
  });
});
