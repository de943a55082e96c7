// Bad input gets a clear error and loses nothing: every failure below goes through the built CLI,
// checks the exit code and the error code (or the human message), and then checks that the store
// on disk is exactly what it was (file bytes, or every row still decrypting with the right key).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { CLI, runCli, runCliJson, type CliOptions } from '../support/cli.ts';
import { FIXTURE_DIR, FIXTURE_HOME, FIXTURE_KEY, cleanupHomes, fixtureHome, tempDir } from '../support/homes.ts';
import { Vault, keys, openValue, sealValue } from '../../src/vault/index.ts';

after(cleanupHomes);

interface ErrorEnvelope {
  error: string;
  message: string;
  hint?: string;
}

interface Finding {
  check: string;
  status: 'ok' | 'warning' | 'error';
  message: string;
}

interface ExpectedRow {
  profile: string;
  key: string;
  plaintext: string;
  plaintext_json: Record<string, unknown>;
}

const KEY = Buffer.from(FIXTURE_KEY, 'base64');
const EXPECTED_ROWS = (JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8')) as { rows: ExpectedRow[] }).rows;
const OPENAI_KEY = keys.connection('default', 'openai', 'default');
const GITHUB_KEY = keys.connection('default', 'github', 'default');

/** A fixture copy with the modes a real store has (folders 0700, files 0600), so `doctor` complains only about what a test breaks. */
function storeHome(): string {
  const home = fixtureHome();
  const visit = (dir: string) => {
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else chmodSync(path, 0o600);
    }
  };
  visit(home);
  return home;
}

const storeFile = (home: string, profile = 'default') => join(home, 'profiles', profile, 'store.db');
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const anotherKey = () => randomBytes(32).toString('base64');

/**
 * Every file under root with its mode, size, mtime and content hash. With dirMtimes, folders'
 * mtimes too, which catches a file created and removed again. (Opening a WAL store does that with
 * its -shm file, so only commands that must not open a store can be held to dirMtimes.)
 */
function snapshot(root: string, options: { dirMtimes?: boolean } = {}): string[] {
  const lines: string[] = [];
  const visit = (dir: string) => {
    const stat = statSync(dir);
    lines.push(`dir  ${relative(root, dir) || '.'} ${(stat.mode & 0o777).toString(8)}${options.dirMtimes ? ` ${stat.mtimeMs}` : ''}`);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else {
        const s = statSync(path);
        lines.push(`file ${relative(root, path)} ${(s.mode & 0o777).toString(8)} ${s.size} ${s.mtimeMs} ${sha256(path)}`);
      }
    }
  };
  visit(root);
  return lines.sort();
}

/** Every kv row of a profile store, read straight from SQLite (not through authsome). */
function rawRows(home: string, profile = 'default'): { key: string; value: string }[] {
  const db = new Database(storeFile(home, profile), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT key, value FROM kv ORDER BY key').all() as { key: string; value: string }[];
  } finally {
    db.close();
  }
}

/** Every row of every fixture profile still decrypts, with the fixture key, to what Python wrote; `except` keys are left out. */
function assertFixtureRowsIntact(home: string, except: string[] = []): void {
  for (const profile of ['default', 'work']) {
    const actual = rawRows(home, profile)
      .filter((row) => !except.includes(row.key))
      .map((row) => ({ key: row.key, plaintext: openValue(KEY, row.value) }));
    const expected = EXPECTED_ROWS.filter((row) => row.profile === profile && !except.includes(row.key))
      .map((row) => ({ key: row.key, plaintext: row.plaintext }))
      .sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(actual, expected, `profile ${profile}: rows changed`);
  }
}

/** Runs a command with --json and checks it fails with this exit code and error code. */
async function expectError(args: string[], options: CliOptions, exit: number, code: string): Promise<ErrorEnvelope> {
  const { code: actual, json } = await runCliJson<ErrorEnvelope>(args, options);
  assert.equal(json.error, code, `authsome ${args.join(' ')}: ${JSON.stringify(json).slice(0, 400)}`);
  assert.equal(actual, exit, `authsome ${args.join(' ')}: exit code`);
  assert.equal(typeof json.message, 'string');
  return json;
}

async function doctorFindings(options: CliOptions): Promise<{ code: number; errors: Finding[] }> {
  const { code, json } = await runCliJson<{ healthy: boolean; findings: Finding[] }>(['doctor'], options);
  assert.equal(json.healthy, code === 0);
  return { code, errors: json.findings.filter((f) => f.status === 'error') };
}

/** Writes one raw value into a profile store through the library (test setup only). */
async function putRaw(home: string, key: string, value: string): Promise<void> {
  const vault = new Vault({ home, secrets: { masterKey: undefined, passphrase: undefined } });
  try {
    await vault.store('default').put(key, value);
  } finally {
    await vault.close();
  }
}

function expectedRecord(key: string): Record<string, unknown> {
  const row = EXPECTED_ROWS.find((r) => r.key === key);
  assert.ok(row, `expected.json has no ${key}`);
  return structuredClone(row.plaintext_json);
}

describe('master key missing while records exist', () => {
  test('get, list and login fail with master_key_missing and no new key is made', async () => {
    const home = storeHome();
    const keyFile = join(home, 'master.key');
    rmSync(keyFile);
    const before = snapshot(home);

    for (const [args, input] of [
      [['get', 'github'], undefined],
      [['list'], undefined],
      [['login', 'openai', '--api-key-stdin'], 'sk-replacement-0000'],
      [['login', 'openai', '--api-key-stdin', '--force'], 'sk-replacement-0000'],
      [['login', 'resend', '--api-key-stdin'], 're_brand_new_0000'],
    ] as const) {
      const error = await expectError([...args], { home, input }, 7, 'master_key_missing');
      assert.ok(error.message.includes(keyFile), error.message);
      assert.ok(existsSync(keyFile) === false, `${args.join(' ')} created ${keyFile}`);
    }
    const human = await runCli(['get', 'github'], { home });
    assert.equal(human.code, 7);
    assert.match(human.stderr, /^Error: .*master\.key is missing, but the store holds 11 encrypted records/m);

    assert.equal(existsSync(keyFile), false);
    assert.equal(existsSync(join(home, 'master.key.next')), false);
    assert.deepEqual(snapshot(home), before);
    assertFixtureRowsIntact(home);

    // Restoring the key is all it takes.
    copyFileSync(join(FIXTURE_HOME, 'master.key'), keyFile);
    const restored = await runCli(['get', 'github', '--field', 'access_token', '--show-secret'], { home });
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(restored.stdout, 'gho_fixture_access_1\n');
  });
});

describe('master key that does not fit', () => {
  test('another valid key: master_key_mismatch naming the record, nothing changed', async () => {
    const home = storeHome();
    const options = { home, env: { AUTHSOME_MASTER_KEY: anotherKey() } };
    const before = snapshot(home);
    const storeBytes = sha256(storeFile(home));

    const named = await expectError(['get', 'github', '--connection', 'default'], options, 7, 'master_key_mismatch');
    assert.ok(named.message.includes(`cannot decrypt ${GITHUB_KEY}: the master key does not match this store`), named.message);
    // Without --connection the provider's metadata record is read first (to find the default connection).
    const viaDefault = await expectError(['get', 'github'], options, 7, 'master_key_mismatch');
    assert.ok(viaDefault.message.includes(`cannot decrypt ${keys.metadata('default', 'github')}: the master key does not match this store`), viaDefault.message);
    await expectError(['login', 'openai', '--api-key-stdin', '--force'], { ...options, input: 'sk-replacement-0000' }, 7, 'master_key_mismatch');

    const human = await runCli(['get', 'github', '--connection', 'default'], options);
    assert.equal(human.code, 7);
    assert.ok(human.stderr.includes('the master key does not match this store'), human.stderr);
    assert.ok(!human.stderr.includes(options.env.AUTHSOME_MASTER_KEY), 'the key itself is never printed');

    assert.equal(sha256(storeFile(home)), storeBytes);
    assert.deepEqual(snapshot(home), before);
    assertFixtureRowsIntact(home);
  });

  test('a malformed AUTHSOME_MASTER_KEY: master_key_unavailable', async () => {
    const home = storeHome();
    const before = snapshot(home);
    for (const bad of ['c2hvcnQ=', FIXTURE_KEY.slice(0, -4), 'not base64 at all!']) {
      const error = await expectError(['get', 'github'], { home, env: { AUTHSOME_MASTER_KEY: bad } }, 7, 'master_key_unavailable');
      assert.match(error.message, /AUTHSOME_MASTER_KEY must be the base64 of 32 bytes/);
      await expectError(['login', 'openai', '--api-key-stdin', '--force'], { home, env: { AUTHSOME_MASTER_KEY: bad }, input: 'sk-replacement-0000' }, 7, 'master_key_unavailable');
    }
    assert.deepEqual(snapshot(home), before);
    assertFixtureRowsIntact(home);
  });
});

describe('corrupted store.db', () => {
  const damage = {
    'overwritten with garbage': (path: string) => writeFileSync(path, randomBytes(statSync(path).size)),
    'truncated in the middle': (path: string) => truncateSync(path, Math.floor(statSync(path).size / 2)),
  };
  for (const [name, corrupt] of Object.entries(damage)) {
    test(`${name}: store_corrupt naming the file, which is kept byte for byte`, async () => {
      const home = storeHome();
      const path = storeFile(home);
      corrupt(path);
      const damagedBytes = sha256(path);
      const before = snapshot(home);

      for (const [args, input] of [
        [['get', 'github'], undefined],
        [['list'], undefined],
        [['login', 'openai', '--api-key-stdin', '--force'], 'sk-replacement-0000'],
      ] as const) {
        const error = await expectError([...args], { home, input }, 7, 'store_corrupt');
        assert.ok(error.message.includes(path), error.message);
        assert.ok(error.hint?.includes(path), error.hint);
      }
      const human = await runCli(['list'], { home });
      assert.equal(human.code, 7);
      assert.ok(human.stderr.startsWith(`Error: the store ${path} is damaged`), human.stderr);

      const { code, errors } = await doctorFindings({ home });
      assert.equal(code, 1);
      assert.deepEqual(errors.map((f) => f.check), ['profile default'], JSON.stringify(errors));
      assert.ok(errors[0]!.message.includes(path), errors[0]!.message);

      assert.equal(sha256(path), damagedBytes);
      assert.deepEqual(snapshot(home), before);
    });
  }

  test('the undamaged copy is healthy (control for the doctor checks above)', async () => {
    const home = storeHome();
    const { code, errors } = await doctorFindings({ home });
    assert.deepEqual(errors, []);
    assert.equal(code, 0);
  });
});

describe('unknown store version', () => {
  test('version 3: store_version_unsupported for get, list, login and init; nothing written', async () => {
    const home = storeHome();
    writeFileSync(join(home, 'version'), '3\n');
    const before = snapshot(home, { dirMtimes: true });

    for (const [args, input] of [
      [['get', 'github'], undefined],
      [['list'], undefined],
      [['login', 'openai', '--api-key-stdin', '--force'], 'sk-replacement-0000'],
      [['login', 'resend', '--api-key-stdin'], 're_brand_new_0000'],
      [['init'], undefined],
    ] as const) {
      const error = await expectError([...args], { home, input }, 7, 'store_version_unsupported');
      assert.ok(error.message.includes(`the store at ${home} has format version 3; this authsome reads version 2`), error.message);
    }
    const human = await runCli(['get', 'github'], { home });
    assert.equal(human.code, 7);
    assert.match(human.stderr, /^Error: the store at .* has format version 3/);

    assert.deepEqual(snapshot(home, { dirMtimes: true }), before);
    assertFixtureRowsIntact(home);
  });
});

describe('home that cannot be written', () => {
  test('as nobody under a root-owned folder: home_not_writable naming the path; a root-owned home is not used (home_insecure)', async () => {
    // Tests run as root; these must run as someone the folder refuses. No runuser → fail, never skip.
    const probe = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, '--version'], { encoding: 'utf8' });
    assert.equal(probe.error, undefined, `runuser is needed for this test: ${probe.error?.message}`);
    assert.equal(probe.status, 0, `nobody cannot run the built CLI (dist/ or node_modules not readable?): ${probe.stderr}`);

    const parent = tempDir();
    chmodSync(parent, 0o755); // nobody may traverse it, not write in it
    const missing = join(parent, 'home');
    const existing = join(parent, 'existing');
    mkdirSync(existing, { mode: 0o755 }); // a root-owned home nobody can neither chmod nor write
    const before = snapshot(parent, { dirMtimes: true });

    for (const [args, input] of [
      [['init'], undefined],
      [['login', 'openai', '--api-key-stdin'], 'sk-brand-new-0000'],
    ] as const) {
      const error = await expectError([...args], { home: missing, input, user: 'nobody' }, 7, 'home_not_writable');
      assert.ok(error.message.includes(`cannot write ${missing}`), error.message);
      // Another user's home is refused before anything is read or written (test/security/home-owner.test.ts).
      const refused = await expectError([...args], { home: existing, input, user: 'nobody' }, 7, 'home_insecure');
      assert.ok(refused.message.startsWith(`${existing} belongs to uid 0, not to you`), refused.message);
    }
    const human = await runCli(['init'], { home: missing, user: 'nobody' });
    assert.equal(human.code, 7);
    assert.ok(human.stderr.startsWith(`Error: cannot write ${missing} (EACCES)`), human.stderr);

    assert.equal(existsSync(missing), false);
    assert.deepEqual(snapshot(parent, { dirMtimes: true }), before);
  });
});

describe('malformed records', () => {
  const damaged = {
    'sealed, but not JSON': { value: () => sealValue(KEY, 'this is not JSON {'), problem: 'it is not JSON' },
    'sealed JSON whose scopes is a number': {
      value: () => sealValue(KEY, JSON.stringify({ ...expectedRecord(OPENAI_KEY), scopes: 5 })),
      problem: 'field "scopes" must be a list of strings',
    },
    'not an encrypted value at all': { value: () => 'sk-plaintext-api-key-in-the-value-column', problem: 'is not an encrypted value' },
  };

  for (const [name, { value, problem }] of Object.entries(damaged)) {
    test(`${name}: get fails with record_malformed, list and doctor report it, the row stays`, async () => {
      const home = storeHome();
      const raw = value();
      await putRaw(home, OPENAI_KEY, raw);

      const error = await expectError(['get', 'openai'], { home }, 7, 'record_malformed');
      assert.ok(error.message.includes(`the record ${OPENAI_KEY} `), error.message);
      assert.ok(error.message.includes(problem), error.message);
      assert.ok(!error.message.includes(raw), 'the stored value is not echoed');

      const list = await runCli(['list'], { home });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^github\s+oauth2\s+connected\s+default\*? \(connected/m);
      assert.match(list.stderr, new RegExp(`^Warning: the record ${OPENAI_KEY} .*`, 'm'));
      const listJson = await runCliJson<{ bundled: { name: string; connections: unknown[] }[] }>(['list'], { home });
      assert.equal(listJson.code, 0);
      assert.equal(listJson.json.bundled.find((p) => p.name === 'github')?.connections.length, 2);

      const { code, errors } = await doctorFindings({ home });
      assert.equal(code, 1);
      assert.equal(errors.length, 1, `one finding for one damaged record: ${JSON.stringify(errors)}`);
      assert.equal(errors[0]!.check, 'profile default');
      assert.ok(errors[0]!.message.includes(OPENAI_KEY), errors[0]!.message);

      const row = rawRows(home).find((r) => r.key === OPENAI_KEY);
      assert.equal(row?.value, raw, 'the damaged row is left exactly as it was');
      assertFixtureRowsIntact(home, [OPENAI_KEY]);
    });
  }

  for (const [name, { value }] of Object.entries(damaged)) {
    test(`${name}: login refuses to overwrite it without --force, and replaces it with --force (as the hint says)`, async () => {
      const home = storeHome();
      const raw = value();
      await putRaw(home, OPENAI_KEY, raw);

      const refused = await expectError(['login', 'openai', '--api-key-stdin'], { home, input: 'sk-replacement-0000' }, 7, 'record_malformed');
      assert.match(refused.hint ?? '', /authsome login <provider> --force/);
      assert.equal(rawRows(home).find((r) => r.key === OPENAI_KEY)?.value, raw);

      const forced = await runCliJson<{ replaced: boolean }>(['login', 'openai', '--api-key-stdin', '--force'], { home, input: 'sk-replacement-0000' });
      assert.equal(forced.code, 0, JSON.stringify(forced.json));
      assert.equal(forced.json.replaced, true);
      const secret = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home });
      assert.equal(secret.code, 0, secret.stderr);
      assert.equal(secret.stdout, 'sk-replacement-0000\n');
      const doctor = await doctorFindings({ home });
      assert.deepEqual(doctor.errors, []);
      assertFixtureRowsIntact(home, [OPENAI_KEY, keys.metadata('default', 'openai')]);
    });
  }
});

describe('malformed provider files', () => {
  const localtest = JSON.parse(readFileSync(join(FIXTURE_HOME, 'providers', 'localtest.json'), 'utf8')) as Record<string, unknown>;
  const files = {
    'invalid JSON': { text: '{ "name": "bad", "auth_type": "api_key",, }', pattern: /\.json:1:41: PropertyNameExpected$/ },
    'auth_type "oauth3"': { text: JSON.stringify({ ...localtest, name: 'bad', auth_type: 'oauth3' }, null, 2), pattern: /\.json: auth_type: Invalid option: expected one of "oauth2"\|"api_key"/ },
  };

  for (const [name, { text, pattern }] of Object.entries(files)) {
    test(`${name}: list warns, inspect fails naming file and field, register writes nothing`, async () => {
      const home = storeHome();
      const bad = join(home, 'providers', 'bad.json');
      writeFileSync(bad, text, { mode: 0o600 });

      const list = await runCli(['list'], { home });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^github\s+oauth2\s+connected/m);
      assert.match(list.stdout, /^localtest \[custom\]\s+api_key\s+connected/m);
      assert.ok(list.stderr.startsWith(`Warning: ${bad}`), list.stderr);

      const inspect = await expectError(['inspect', 'bad'], { home }, 3, 'provider_invalid');
      assert.ok(inspect.message.startsWith(bad), inspect.message);
      assert.match(inspect.message, pattern);
      const human = await runCli(['inspect', 'bad'], { home });
      assert.equal(human.code, 3);
      assert.ok(human.stderr.startsWith(`Error: ${bad}`), human.stderr);

      const { code, errors } = await doctorFindings({ home });
      assert.equal(code, 1);
      assert.deepEqual(errors.map((f) => f.check), ['providers']);
      assert.ok(errors[0]!.message.includes(bad), errors[0]!.message);

      // Registering the same content from elsewhere fails before anything is written.
      const source = join(tempDir(), 'bad.json');
      writeFileSync(source, text);
      rmSync(bad);
      const before = snapshot(home, { dirMtimes: true });
      const register = await expectError(['register', source], { home }, 3, 'provider_invalid');
      assert.ok(register.message.startsWith(source), register.message);
      assert.match(register.message, pattern);
      const forced = await expectError(['register', source, '--force'], { home }, 3, 'provider_invalid');
      assert.equal(forced.message, register.message);
      assert.deepEqual(snapshot(home, { dirMtimes: true }), before);
      assert.deepEqual(readdirSync(join(home, 'providers')), ['localtest.json']);
    });
  }
});

describe('a wrong key never writes', () => {
  test('login of a new provider under a wrong AUTHSOME_MASTER_KEY is refused and writes nothing', async () => {
    const home = fixtureHome();
    const before = readFileSync(join(home, 'profiles', 'default', 'store.db'));
    const wrong = Buffer.alloc(32, 3).toString('base64');
    const result = await runCliJson<{ error: string }>(['login', 'anthropic', '--api-key-stdin'], { home, env: { AUTHSOME_MASTER_KEY: wrong }, input: 'sk-ant-wrongkey-0000000000' });
    assert.deepEqual([result.code, result.json.error], [7, 'master_key_mismatch']);
    assert.deepEqual(readFileSync(join(home, 'profiles', 'default', 'store.db')), before);
    const list = await runCliJson<{ error: string }>(['list'], { home, env: { AUTHSOME_MASTER_KEY: wrong } });
    assert.deepEqual([list.code, list.json.error], [7, 'master_key_mismatch'], 'list fails instead of showing everything as available');
  });
});
