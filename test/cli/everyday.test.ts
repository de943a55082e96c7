// The everyday commands on a fresh home: init, login with an API key, get, export, logout,
// revoke, remove, register, set-default, profiles — with file modes and an audit log free of secrets.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { runCli, runCliJson, runCliJsonLines } from '../support/cli.ts';
import { cleanupHomes, fixtureHome, freshHome, tempDir } from '../support/homes.ts';

after(cleanupHomes);

/** Canary secrets: if any appears in a log or an error, a test fails. */
const OPENAI_KEY = 'sk-canary-openai-1234567890abcdef';
const ANTHROPIC_KEY = 'sk-ant-canary-abcdefghijklmnop';

async function loggedIn(): Promise<string> {
  const home = freshHome();
  const init = await runCli(['init'], { home });
  assert.equal(init.code, 0, init.stderr);
  const login = await runCli(['login', 'openai', '--api-key-stdin'], { home, input: OPENAI_KEY + '\n' });
  assert.equal(login.code, 0, login.stderr);
  return home;
}

/** What a real shell sees after `eval "$(authsome export … --format shell)"`. */
function evalInBash(script: string, variable: string): Promise<string> {
  return new Promise((resolve) => {
    const sh = spawn('bash', ['-c', `eval "$1"; printf %s "\${${variable}}"`, 'bash', script]);
    let out = '';
    sh.stdout.on('data', (c: Buffer) => (out += c));
    sh.on('close', () => resolve(out));
  });
}

function modes(root: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const visit = (path: string) => {
    const stat = statSync(path);
    out.push([path.slice(root.length) || '/', stat.mode & 0o777]);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return out;
}

describe('init and file modes', () => {
  test('init creates the Python layout with folders 0700 and files 0600', async () => {
    const home = freshHome();
    const { code, json } = await runCliJson<{ created: boolean; key_source: string }>(['init'], { home });
    assert.equal(code, 0);
    assert.deepEqual([json.created, json.key_source], [true, 'local_key']);
    assert.equal(readFileSync(join(home, 'version'), 'utf8'), '2\n');
    assert.deepEqual(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')), { spec_version: 1, default_profile: 'default', encryption: { mode: 'local_key' } });
    const masterKey = JSON.parse(readFileSync(join(home, 'master.key'), 'utf8'));
    assert.equal(Buffer.from(masterKey.key, 'base64').length, 32);
    assert.equal(masterKey.algorithm, 'AES-256-GCM');
    await runCli(['login', 'openai', '--api-key-stdin'], { home, input: OPENAI_KEY });
    for (const [path, mode] of modes(home)) {
      if (path.endsWith('-wal') || path.endsWith('-shm')) continue;
      const isDir = statSync(join(home, path)).isDirectory();
      assert.equal(mode, isDir ? 0o700 : 0o600, `${path} mode ${mode.toString(8)}`);
    }
    const again = await runCliJson<{ created: boolean }>(['init'], { home });
    assert.equal(again.json.created, false, 'init is idempotent');
    assert.equal(JSON.parse(readFileSync(join(home, 'master.key'), 'utf8')).key, masterKey.key, 'the key is never replaced');
  });

  test('doctor is healthy on a fresh store and names loose permissions with the fix', async () => {
    const home = await loggedIn();
    const healthy = await runCli(['doctor'], { home });
    assert.equal(healthy.code, 0, healthy.stdout);
    const { chmodSync } = await import('node:fs');
    chmodSync(join(home, 'master.key'), 0o644);
    const sick = await runCliJson<{ healthy: boolean; findings: Array<{ check: string; status: string; fix?: string }> }>(['doctor'], { home });
    assert.equal(sick.code, 1);
    const finding = sick.json.findings.find((f) => f.check === 'permissions');
    assert.equal(finding?.status, 'error');
    assert.match(finding?.fix ?? '', /chmod 600 .*master\.key/);
  });
});

describe('login with an API key', () => {
  test('reads stdin, stores the key encrypted, and get returns it', async () => {
    const home = await loggedIn();
    const raw = readFileSync(join(home, 'profiles', 'default', 'store.db'));
    assert.equal(raw.includes(Buffer.from(OPENAI_KEY)), false, 'the key is not stored in clear');
    const got = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home });
    assert.deepEqual([got.code, got.stdout], [0, OPENAI_KEY + '\n']);
    const status = await runCli(['get', 'openai', '--field', 'status'], { home });
    assert.equal(status.stdout, 'connected\n');
  });

  test('reads the provider env var', async () => {
    const home = freshHome();
    const result = await runCli(['login', 'anthropic'], { home, env: { ANTHROPIC_API_KEY: ANTHROPIC_KEY } });
    assert.equal(result.code, 0, result.stderr);
    const got = await runCli(['get', 'anthropic', '--field', 'api_key', '--show-secret'], { home });
    assert.equal(got.stdout, ANTHROPIC_KEY + '\n');
  });

  test('without a key and without a terminal it fails and names the flag', async () => {
    const result = await runCli(['login', 'openai'], { home: freshHome() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no API key given for openai, and there is no terminal to ask on/);
    assert.match(result.stderr, /--api-key-stdin/);
    assert.match(result.stderr, /OPENAI_API_KEY/);
  });

  test('--api-key-stdin and --form together are refused, for a one-part key and a several-part one alike', async () => {
    for (const provider of ['openai', 'twilio']) {
      const home = freshHome();
      const result = await runCli(['login', provider, '--api-key-stdin', '--form'], { home, input: 'x' });
      assert.equal(result.code, 2, `${provider}: ${result.stderr}`);
      assert.match(result.stderr, /--api-key-stdin and --form are two ways to give the key: choose one/);
      assert.equal(existsSync(join(home, 'profiles', 'default', 'store.db')), false, 'nothing was stored');
    }
  });

  test('a key that does not match key_pattern is refused with the hint', async () => {
    const home = freshHome();
    const result = await runCliJson<{ error: string; hint: string }>(['login', 'anthropic', '--api-key-stdin'], { home, input: 'not-an-anthropic-key' });
    assert.equal(result.code, 2);
    assert.equal(result.json.error, 'input_invalid');
    assert.ok(result.json.hint.length > 0);
    assert.equal(existsSync(join(home, 'profiles', 'default', 'store.db')), false, 'nothing was stored');
  });

  test('an existing connection is not overwritten without --force; --connection adds another', async () => {
    const home = await loggedIn();
    const again = await runCli(['login', 'openai', '--api-key-stdin'], { home, input: 'sk-other-key-000000000000' });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already has a connection "default".*not overwritten/);
    assert.match(again.stderr, /--force/);
    assert.equal((await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home })).stdout, OPENAI_KEY + '\n');

    const second = await runCli(['login', 'openai', '--api-key-stdin', '--connection', 'ci'], { home, input: 'sk-ci-key-0000000000000000' });
    assert.equal(second.code, 0, second.stderr);
    const forced = await runCli(['login', 'openai', '--api-key-stdin', '--force'], { home, input: 'sk-replaced-00000000000000' });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home })).stdout, 'sk-replaced-00000000000000\n');
    assert.equal((await runCli(['get', 'openai', '--connection', 'ci', '--field', 'api_key', '--show-secret'], { home })).stdout, 'sk-ci-key-0000000000000000\n');
  });

  test('an unattended OAuth login without client credentials fails at once, naming the env vars', async () => {
    // No terminal, no browser, no --no-browser: nobody could fill the form, so nothing waits for it.
    const result = await runCliJson<{ error: string; hint: string }>(['login', 'github'], { home: freshHome(), env: { BROWSER: undefined, DISPLAY: undefined } });
    assert.equal(result.code, 2);
    assert.equal(result.json.error, 'input_required');
    assert.match(result.json.hint, /Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET/);
  });

  test('the masked prompt reads a key typed at a terminal without echoing it', async () => {
    const home = freshHome();
    const { CLI, cleanEnv } = await import('../support/cli.ts');
    // script(1) gives the CLI a real pseudo-terminal; the typed key must not appear in what the terminal showed.
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} login openai`, '/dev/null'], {
      env: cleanEnv({ AUTHSOME_HOME: home, NO_COLOR: '1' }), stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      screen += chunk;
      if (screen.includes('API key: ') && !screen.includes('*')) child.stdin.write(OPENAI_KEY + '\r');
    });
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    assert.equal(code, 0, screen);
    assert.equal(screen.includes(OPENAI_KEY), false, 'the key was not echoed');
    assert.match(screen, /\*{10,}/);
    assert.equal((await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home })).stdout, OPENAI_KEY + '\n');
  });
});

describe('export', () => {
  test('every format prints the export.env mapping; shell output evaluates in a real shell', async () => {
    const home = await loggedIn();
    const env = await runCli(['export', 'openai'], { home });
    assert.equal(env.stdout, `OPENAI_API_KEY=${OPENAI_KEY}\n`);
    const dotenv = await runCli(['export', 'openai', '--format', 'dotenv'], { home });
    assert.equal(dotenv.stdout, `OPENAI_API_KEY='${OPENAI_KEY}'\n`);
    const json = await runCli(['export', 'openai', '--format', 'json'], { home });
    assert.deepEqual(JSON.parse(json.stdout), { OPENAI_API_KEY: OPENAI_KEY });
    const shell = await runCli(['export', 'openai', '--format', 'shell'], { home });
    const echoed = await evalInBash(shell.stdout, 'OPENAI_API_KEY');
    assert.equal(echoed, OPENAI_KEY);
  });

  test('shell quoting survives quotes and dollar signs', async () => {
    const home = freshHome();
    const tricky = `sk-it's-$HOME-"quoted"-\`x\``;
    const file = join(tempDir(), 'plain.json');
    writeFileSync(file, JSON.stringify({ name: 'plain', auth_type: 'api_key', flow: 'api_key', export: { env: { api_key: 'OPENAI_API_KEY' } } }));
    assert.equal((await runCli(['register', file], { home })).code, 0);
    const login = await runCli(['login', 'plain', '--api-key-stdin'], { home, input: tricky });
    assert.equal(login.code, 0, login.stderr);
    const shell = await runCli(['export', 'plain', '--format', 'shell'], { home });
    const echoed = await evalInBash(shell.stdout, 'OPENAI_API_KEY');
    assert.equal(echoed, tricky);
  });

  test('refresh tokens are never exported, even when a mapping asks for them', async () => {
    const home = fixtureHome();
    const definition = { schema_version: 1, name: 'github', display_name: 'GitHub (custom)', auth_type: 'oauth2', flow: 'pkce',
      oauth: { authorization_url: 'https://github.com/login/oauth/authorize', token_url: 'https://github.com/login/oauth/access_token' },
      export: { env: { access_token: 'GH_TOKEN', refresh_token: 'GH_REFRESH' } } };
    const file = join(tempDir(), 'github.json');
    writeFileSync(file, JSON.stringify(definition));
    assert.equal((await runCli(['register', file, '--force'], { home })).code, 0);
    const result = await runCli(['export', 'github', '--format', 'json'], { home });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { GH_TOKEN: 'gho_fixture_access_1' });
    assert.equal(result.stdout.includes('ghr_fixture_refresh_1'), false);
    assert.match(result.stderr, /GH_REFRESH \(refresh_token is never exported\)/);
  });

  test('export with no provider covers every connected provider and skips expired ones', async () => {
    const home = fixtureHome();
    await runCli(['set-default', 'github', 'work'], { home });
    const result = await runCli(['export', '--format', 'json'], { home });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(Object.keys(JSON.parse(result.stdout)).sort(), ['LOCALTEST_API_KEY', 'OPENAI_API_KEY']);
    assert.match(result.stderr, /github \(work\) is expired; not exported/);
  });
});

describe('removing connections', () => {
  test('logout removes one connection and moves the default', async () => {
    const home = fixtureHome();
    const out = await runCliJson<{ connections: string[] }>(['logout', 'github'], { home });
    assert.equal(out.code, 0);
    assert.deepEqual(out.json.connections, ['default']);
    assert.equal((await runCli(['get', 'github', '--field', 'connection_name'], { home })).stdout, 'work\n', 'work became the default');
    const missing = await runCli(['logout', 'github', '--connection', 'default'], { home });
    assert.equal(missing.code, 5);
  });

  test('revoke removes every connection and the OAuth client; remove keeps a custom definition, unregister deletes it', async () => {
    const home = fixtureHome();
    const revoked = await runCliJson<{ connections: string[]; client: boolean }>(['revoke', 'github'], { home });
    assert.deepEqual([revoked.code, revoked.json.connections, revoked.json.client], [0, ['default', 'work'], true]);
    const list = await runCliJson<{ bundled: Array<{ name: string; state: string; connections: unknown[] }> }>(['list'], { home });
    const github = list.json.bundled.find((p) => p.name === 'github')!;
    assert.deepEqual([github.state, github.connections.length], ['available', 0]);
    // Other providers are untouched.
    assert.equal((await runCli(['get', 'openai', '--field', 'status'], { home })).stdout, 'connected\n');

    const removed = await runCliJson<{ connections: string[] }>(['remove', 'localtest'], { home });
    assert.deepEqual([removed.code, removed.json.connections], [0, ['default']]);
    assert.equal((await runCli(['get', 'localtest'], { home })).code, 5);
    assert.equal((await runCli(['inspect', 'localtest'], { home })).code, 0, 'remove leaves the definition alone');
    const unregistered = await runCliJson<{ deleted: string[]; bundled_restored: boolean }>(['unregister', 'localtest'], { home });
    assert.deepEqual([unregistered.code, unregistered.json.deleted, unregistered.json.bundled_restored], [0, [join(home, 'providers', 'localtest.json')], false]);
    assert.equal((await runCli(['inspect', 'localtest'], { home })).code, 3);
  });

  test('unregister of an override of a bundled provider returns it to its shipped state', async () => {
    const home = fixtureHome();
    const file = join(tempDir(), 'openai.json');
    writeFileSync(file, JSON.stringify({ schema_version: 1, name: 'openai', display_name: 'My OpenAI', auth_type: 'api_key', flow: 'api_key', api_key: { header_name: 'Authorization', header_prefix: 'Bearer' } }));
    const refused = await runCli(['register', file], { home });
    assert.equal(refused.code, 2, 'overriding a bundled provider needs --force');
    assert.equal((await runCli(['register', file, '--force'], { home })).code, 0);
    assert.equal((await runCliJson<{ source: string }>(['inspect', 'openai'], { home })).json.source, 'custom');
    // openai is connected in this profile: its key would go to the bundled definition's hosts.
    const connected = await runCli(['unregister', 'openai'], { home });
    assert.equal(connected.code, 2);
    assert.match(connected.stderr, /^Error: openai still has connections in profile "default" \(default\); they would then be used through the bundled definition \(its endpoints and hosts\) instead/);
    const forced = await runCli(['unregister', 'openai', '--force'], { home });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /The bundled openai definition applies again \(see it with: authsome inspect openai\)\./);
    const after = await runCliJson<{ source: string; definition: { display_name: string } }>(['inspect', 'openai'], { home });
    assert.deepEqual([after.json.source, after.json.definition.display_name], ['bundled', 'OpenAI']);
    assert.equal((await runCli(['unregister', 'openai'], { home })).code, 2, 'the bundled definition itself cannot be unregistered');
  });
});

describe('profiles', () => {
  test('create, use and list profiles; connections stay apart', async () => {
    const home = await loggedIn();
    assert.equal((await runCli(['profile', 'create', 'work', '--description', 'day job'], { home })).code, 0);
    assert.equal((await runCli(['profile', 'create', 'work'], { home })).code, 2, 'already exists');
    assert.equal((await runCli(['profile', 'use', 'work'], { home })).code, 0);
    assert.equal(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).default_profile, 'work');
    assert.equal((await runCli(['get', 'openai'], { home })).code, 5, 'the work profile has no openai connection');
    const list = await runCliJson<Array<{ name: string; default: boolean; description: string | null }>>(['profile', 'list'], { home });
    assert.deepEqual(list.json.map((p) => [p.name, p.default, p.description]), [['default', false, 'Default local profile'], ['work', true, 'day job']]);
    assert.equal((await runCli(['get', 'openai', '--profile', 'default', '--field', 'status'], { home })).stdout, 'connected\n');
    assert.equal((await runCli(['get', 'openai', '--profile', 'nope'], { home })).code, 5);
  });
});

describe('audit log', () => {
  test('records each operation and never a secret value', async () => {
    const home = await loggedIn();
    await runCli(['login', 'anthropic', '--api-key-stdin'], { home, input: ANTHROPIC_KEY });
    await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home });
    await runCli(['export', '--format', 'shell'], { home });
    await runCli(['logout', 'anthropic'], { home });
    await runCli(['get', 'openai', '--verbose', '--show-secret', '--field', 'nosuchfield'], { home });
    const { lines } = await runCliJsonLines<{ event: string; provider?: string }>(['log', '-n', '50'], { home });
    assert.deepEqual(lines.map((e) => e.event), ['init', 'login', 'login', 'get', 'export', 'logout']);
    const filtered = await runCliJsonLines<{ event: string }>(['log', '--event', 'login'], { home });
    assert.equal(filtered.lines.length, 2);
    const text = readFileSync(join(home, 'audit.log'), 'utf8');
    for (const secret of [OPENAI_KEY, ANTHROPIC_KEY]) assert.equal(text.includes(secret), false, 'audit log holds no secret');
  });
});

describe('--verbose', () => {
  test('debug lines go to stderr with every secret redacted', async () => {
    const home = await loggedIn();
    const result = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret', '--verbose'], { home });
    assert.equal(result.stdout, OPENAI_KEY + '\n', 'the value asked for is printed on stdout');
    assert.match(result.stderr, /\[authsome\] read profile:default:openai:connection:default/);
    assert.match(result.stderr, /"credential":"sk-\*\*\*\*"/);
    assert.equal(result.stderr.includes(OPENAI_KEY), false);
  });
});
