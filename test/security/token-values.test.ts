// Credential values as an attack. A token from a token endpoint, or a key at login, is data that
// ends up in HTTP headers, in environment variables and in files that shells and dotenv loaders
// read: a newline there injected NODE_OPTIONS through `export --format env`, and `$(…)` ran a
// command when a `--format dotenv` file was sourced. Values outside printable ASCII without spaces
// (RFC 6749 VSCHAR, %x21-7E) or over 16 KiB are refused when received; every export format is
// quoted; and a bad value stored by an older version is skipped by name, never breaking the rest.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { keys, Vault } from '../../src/vault/index.ts';
import type { AuthServer } from '../support/auth-server.ts';
import { runCli } from '../support/cli.ts';
import { cleanupHomes, freshHome, tempDir } from '../support/homes.ts';
import { makeDue, seedConnection } from '../support/make-due.ts';
import type { OAuthHome } from '../support/oauth-home.ts';
import type { TokenGate } from '../support/token-gate.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';

/** Runs `script` in a real shell, in `cwd`, with `file` as $1; resolves with stdout. */
function inShell(shell: 'sh' | 'bash', script: string, file: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell, ['-c', script, shell, file], { cwd, env: { PATH: process.env.PATH! } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

/** Node's own dotenv loader in a fresh process: process.loadEnvFile(file), then the variable. */
function loadEnvFile(file: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', `process.loadEnvFile(${JSON.stringify(file)}); process.stdout.write(process.env[${JSON.stringify(name)}] ?? '<unset>')`], { env: { PATH: process.env.PATH! } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

const SOURCE = 'set -a; . "$1"; printf %s "${PLAIN_KEY-<unset>}|${NODE_OPTIONS-<unset>}"';

after(cleanupHomes);

describe('a token endpoint cannot hand authsome a value that breaks out', () => {
  let fx: GatedOAuth;
  let as: AuthServer;
  let gate: TokenGate;
  let h: OAuthHome;

  before(async () => {
    // No back-off: each case's healing refresh follows its failed one at once.
    fx = await startGatedOAuth({ AUTHSOME_REFRESH_BACKOFF: '0' });
    ({ as, gate, h } = fx);
    const login = await runCli(['login', 'testas'], { env: h.env });
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => fx?.close());

  const hostile: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a newline in access_token', { access_token: 'at-ok\nNODE_OPTIONS=--require=/tmp/pwned.js', token_type: 'Bearer', expires_in: 3600 }, /"access_token" property is not a usable credential: it contains a newline \(U\+000A\) at position 6/],
    ['a carriage return in refresh_token', { access_token: 'at-fine-0123456789', refresh_token: 'rt\r\nX-Injected: 1', token_type: 'Bearer', expires_in: 3600 }, /"refresh_token" property is not a usable credential: it contains a carriage return/],
    ['a 64 KiB access_token', { access_token: 'a'.repeat(65536), token_type: 'Bearer', expires_in: 3600 }, /"access_token" property is not a usable credential: it is 65536 characters long, more than the 16384 authsome accepts/],
    ['$(…) in a scope', { access_token: 'at-fine-0123456789', token_type: 'Bearer', expires_in: 3600, scope: 'openid "$(id)"' }, /"scope" property must be space-separated scope tokens/],
  ];
  for (const [what, body, message] of hostile) {
    it(`refuses ${what} from the token endpoint, stores nothing of it, and export never sets NODE_OPTIONS`, async () => {
      await makeDue(h.home, 'testas');
      gate.mode('json', { json: body });
      const got = await runCli(['get', 'testas', '--field', 'status'], { env: h.env });
      assert.equal(got.code, 6, got.stderr);
      assert.match(got.stderr, /^Error: refresh failed for testas \(default\): the token endpoint gave no OAuth answer\n/);
      assert.equal(got.stdout.trim(), 'expired', 'the connection waits for the next attempt; nothing was stored');
      // The record says which field was refused, and why (never the value).
      const shown = await runCli(['get', 'testas', '--field', 'metadata'], { env: h.env });
      const metadata = JSON.parse(shown.stdout) as { last_refresh_error: string; last_refresh_error_description: string };
      assert.equal(metadata.last_refresh_error, 'the token endpoint gave no OAuth answer');
      assert.match(metadata.last_refresh_error_description, message);
      assert.doesNotMatch(got.stderr + shown.stdout, /NODE_OPTIONS|pwned|Injected|aaaaaaaa|\$\(id\)/, 'the value itself is never shown');
      const exported = await runCli(['export', 'testas', '--format', 'env'], { env: h.env });
      const file = join(tempDir(), 'exported.env');
      writeFileSync(file, exported.stdout);
      assert.match(await inShell('sh', SOURCE, file, tempDir()), /\|<unset>$/, 'NODE_OPTIONS stays unset');
      gate.mode('pass');
      const healed = await runCli(['get', 'testas', '--field', 'status'], { env: h.env });
      assert.equal(healed.stdout.trim(), 'connected', healed.stderr);
    });
  }
});

describe('a key at login', () => {
  it('refuses control characters, a newline inside and more than 16 KiB, without showing the key', async () => {
    const home = freshHome();
    assert.equal((await runCli(['init'], { home })).code, 0);
    for (const [key, reason] of [
      ['sk-plain\nNODE_OPTIONS=--require=/tmp/pwned.js', /a newline \(U\+000A\) at position 9/],
      ['sk-color\x1b[31mred', /an escape character \(U\+001B\) at position 9/],
      ['sk-spaced key-0123456789', /a space \(U\+0020\) at position 10/],
      ['sk-' + 'k'.repeat(65533), /65536 characters long, more than the 16384 authsome accepts/],
    ] as const) {
      const login = await runCli(['login', 'anthropic', '--api-key-stdin'], { home, input: key });
      assert.equal(login.code, 2, login.stderr);
      assert.match(login.stderr, reason);
      assert.doesNotMatch(login.stderr + login.stdout, /NODE_OPTIONS|pwned|\[31m|kkkkkkkk|spaced/);
    }
    const status = await runCli(['get', 'anthropic', '--field', 'status'], { home });
    assert.equal(status.code, 5, 'nothing was stored');
  });
});

describe('every export format is quoted', () => {
  const home = freshHome();
  const work = tempDir('sourced-');
  /** Each value a shell or a dotenv loader could misread; none may run a command (the marker file) or end early. */
  const VALUES = {
    // Every special character but the single quote and the backslash: dotenv carries it in single quotes.
    specials: 'pk-$(touch${IFS}PWNED)`touch${IFS}PWNED`;a=1&&b|c<d>e*?~!#{}[]%^"@,.:+/=${HOME}',
    // A single quote with none of " $ ` \: dotenv carries it in double quotes.
    quote: "pk-it's;#~!&|<>*?{}()[]",
    // A single quote and a backslash and $: no dotenv form reads the same everywhere, so dotenv leaves it out.
    mixed: "pk-a'b$(touch${IFS}PWNED)\\c",
  };

  before(async () => {
    assert.equal((await runCli(['init'], { home })).code, 0);
    const file = join(tempDir(), 'plainkey.json');
    writeFileSync(file, JSON.stringify({ name: 'plainkey', auth_type: 'api_key', flow: 'api_key', export: { env: { api_key: 'PLAIN_KEY' } } }));
    assert.equal((await runCli(['register', file], { home })).code, 0);
  });

  for (const [label, value] of Object.entries(VALUES)) {
    it(`reads back exactly, and runs nothing, in every format: ${label}`, async () => {
      const login = await runCli(['login', 'plainkey', '--api-key-stdin', '--force'], { home, input: value });
      assert.equal(login.code, 0, login.stderr);
      const write = async (format: string) => {
        const result = await runCli(['export', 'plainkey', '--format', format], { home });
        assert.equal(result.code, 0, result.stderr);
        const file = join(tempDir(), `exported.${format}`);
        writeFileSync(file, result.stdout);
        return { file, ...result };
      };
      const env = await write('env');
      for (const shell of ['sh', 'bash'] as const) assert.equal(await inShell(shell, SOURCE, env.file, work), `${value}|<unset>`, `env, ${shell}`);
      const shellFormat = await write('shell');
      for (const shell of ['sh', 'bash'] as const) assert.equal(await inShell(shell, 'eval "$(cat "$1")"; printf %s "$PLAIN_KEY"', shellFormat.file, work), value, `shell, ${shell}`);
      const json = await write('json');
      assert.deepEqual(JSON.parse(json.stdout), { PLAIN_KEY: value });
      const dotenv = await write('dotenv');
      if (label === 'mixed') {
        assert.equal(dotenv.stdout.trim(), '', 'left out');
        assert.match(dotenv.stderr, /Warning: plainkey: PLAIN_KEY not exported: its value holds both a quote and one of/);
      } else {
        for (const shell of ['sh', 'bash'] as const) assert.equal(await inShell(shell, SOURCE, dotenv.file, work), `${value}|<unset>`, `dotenv, ${shell}`);
        assert.equal(parseEnv(dotenv.stdout).PLAIN_KEY, value, 'util.parseEnv');
        assert.equal(await loadEnvFile(dotenv.file, 'PLAIN_KEY'), value, 'process.loadEnvFile');
      }
      assert.deepEqual(readdirSync(work), [], 'no command ran');
    });
  }
});

describe('a stored value that breaks the rules', () => {
  it('is skipped with a warning naming it; every other provider is still exported and run', async () => {
    const home = freshHome();
    assert.equal((await runCli(['init'], { home })).code, 0);
    const good = 'sk-good-0123456789abcdef';
    assert.equal((await runCli(['login', 'openai', '--api-key-stdin'], { home, input: good })).code, 0);
    // What an older version or the Python authsome could have stored: no check stood in the way.
    await seedConnection(home, { provider: 'anthropic', auth_type: 'api_key', api_key: 'sk-ant-x\nNODE_OPTIONS=--require=/tmp/pwned.js', token_type: null });
    await seedConnection(home, { provider: 'groq', auth_type: 'api_key', api_key: 'gsk_' + 'k'.repeat(65532), token_type: null });

    for (const format of ['env', 'dotenv', 'shell', 'json']) {
      const exported = await runCli(['export', '--format', format], { home });
      assert.equal(exported.code, 0, exported.stderr.slice(0, 500));
      assert.match(exported.stdout, new RegExp(`OPENAI_API_KEY\\W+${good}`), format);
      assert.doesNotMatch(exported.stdout, /ANTHROPIC|GROQ|NODE_OPTIONS/, format);
      assert.match(exported.stderr, /Warning: anthropic: ANTHROPIC_API_KEY not exported: the stored api_key of connection "default" cannot be handed out \(it contains a newline \(U\+000A\) at position 9/);
      assert.match(exported.stderr, /Warning: groq: GROQ_API_KEY not exported: .*it is 65536 characters long/);
      assert.ok(exported.stderr.length < 4000, 'the huge value is never printed');
    }

    const run = await runCli(['run', '--', 'sh', '-c', 'printf %s "$OPENAI_API_KEY"'], { home });
    assert.equal(run.code, 0, run.stderr.slice(0, 500));
    assert.equal(run.stdout, 'authsome-proxy-managed');
    assert.match(run.stderr, /Warning: anthropic \(default\): not routed: the stored credential cannot be used \(it contains a newline/);
    assert.match(run.stderr, /Warning: groq \(default\): not routed: the stored credential cannot be used \(it is 65536 characters long/);

    const listed = await runCli(['list', '--connected'], { home });
    assert.equal(listed.code, 0, listed.stderr.slice(0, 500));
    const vault = new Vault({ home, secrets: {} });
    try {
      assert.ok(await vault.read('default', 'connection', keys.connection('default', 'groq', 'default')), 'the stored value is kept as it was');
    } finally {
      await vault.close();
    }
    assert.equal(existsSync('/tmp/pwned.js'), false);
  });
});
