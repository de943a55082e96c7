// The CLI as a shell user meets it (issue 17, item 3): a reader that goes away or a full device
// ends a command quietly; network failures have their own code; options that cannot apply are
// refused; `register -` reads stdin; usage errors point at the command's own help, and every
// command's help has examples (each parsed by the real command tree), its environment and the
// global options; completion works in real bash, zsh and fish.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allCommands, commandPath, COMMAND_HELP } from '../../src/cli/help.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { CLI, cleanEnv, runCli, runCliJson } from '../support/cli.ts';
import { authsomeWords, inertProgram } from '../support/cli-parse.ts';
import { cleanupHomes, freshHome, tempDir } from '../support/homes.ts';

after(cleanupHomes);

const KEY = 'sk-test-abcdefghijklmnop0123456789';
let home: string;
before(async () => {
  home = freshHome();
  for (const connection of ['default', 'work']) {
    const login = await runCli(['login', 'openai', '--api-key-stdin', '--connection', connection], { home, input: KEY });
    assert.equal(login.code, 0, login.stderr);
  }
});

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('output that cannot be written', () => {
  it('a reader that has gone away ends the command with 141 and nothing on stderr', async () => {
    for (const args of [['list', '--json'], ['--help'], ['get', 'openai', '--field', 'api_key', '--show-secret']]) {
      const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv({ AUTHSOME_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // the reader is gone before the first byte is written
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 141, `${args.join(' ')}: ${stderr}`);
      assert.equal(stderr, '', args.join(' '));
    }
  });

  it('in a real pipeline (| head -c 1, | true) no stack trace and the conventional status', () => {
    for (const reader of ['head -c 1 >/dev/null', 'true']) {
      const result = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${CLI}" list --json | ${reader}`], { env: cleanEnv({ AUTHSOME_HOME: home }), encoding: 'utf8' });
      assert.ok([0, 141].includes(result.status!), `${reader}: ${result.status} ${result.stderr}`);
      assert.equal(result.stderr, '', reader);
    }
  });

  it('a full device is one line on stderr and exit 1', () => {
    const result = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" list --json > /dev/full`], { env: cleanEnv({ AUTHSOME_HOME: home }), encoding: 'utf8' });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /^Error: cannot write to standard output: ENOSPC: no space left on device, write\n$/);
  });
});

describe('network failures', () => {
  it('a login whose token endpoint cannot be reached exits 8 with network_error and a hint, and stores nothing', async () => {
    const port = await closedPort();
    const networkHome = freshHome();
    const file = join(tempDir(), 'm2m.json');
    writeFileSync(file, JSON.stringify({
      schema_version: 1, name: 'm2m', display_name: 'M2M', auth_type: 'oauth2', flow: 'client_credentials',
      oauth: { token_url: `http://127.0.0.1:${port}/token`, scopes: [] }, host_url: 'api.m2m.example',
      client: { client_id_env: 'M2M_CLIENT_ID', client_secret_env: 'M2M_CLIENT_SECRET' },
    }));
    assert.equal((await runCli(['register', file], { home: networkHome })).code, 0);
    const env = { M2M_CLIENT_ID: 'id', M2M_CLIENT_SECRET: 'secret-value-0123' };
    const text = await runCli(['login', 'm2m'], { home: networkHome, env });
    assert.equal(text.code, 8, text.stderr);
    assert.match(text.stderr, /^Error: could not reach the token endpoint of m2m: ECONNREFUSED\nCheck the network connection to the provider, then run the command again\.\n$/);
    const json = await runCliJson<{ error: string; hint: string }>(['login', 'm2m', '--json'], { home: networkHome, env });
    assert.deepEqual([json.code, json.json.error], [8, 'network_error']);
    const status = await runCliJson<{ error: string }>(['get', 'm2m', '--json'], { home: networkHome });
    assert.deepEqual([status.code, status.json.error], [5, 'credential_missing']);
  });

  it('an MCP server URL that cannot be reached is a network_error too', async () => {
    const port = await closedPort();
    const result = await runCliJson<{ error: string }>(['login', `http://127.0.0.1:${port}/mcp`, '--json', '--no-browser'], { home: freshHome() });
    assert.deepEqual([result.code, result.json.error], [8, 'network_error'], JSON.stringify(result));
  });
});

describe('options that cannot apply are refused', () => {
  const cases: Array<[string[], RegExp]> = [
    [['login', 'github', '--api-key-stdin'], /github signs in with OAuth, not an API key: --api-key-stdin does not apply/],
    [['login', 'github', '--form'], /github signs in with OAuth, not an API key: --form does not apply/],
    [['login', 'openai', '--flow', 'device_code'], /openai takes an API key: --flow chooses an OAuth flow and does not apply/],
    [['login', 'openai', '--scopes', 'read'], /openai takes an API key: --scopes/],
    [['login', 'openai', '--name', 'x', '--api-key-stdin'], /--name names a provider derived from an MCP server's URL/],
    [['export', 'openai', '--json', '--format', 'shell'], /--json prints JSON, and --format shell asks for another format: choose one/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const result = await runCli(args, { home, input: KEY });
      assert.equal(result.code, 2, result.stderr);
      // With --json the error envelope is the output.
      if (args.includes('--json')) assert.deepEqual({ ...JSON.parse(result.stdout), message: '' }, { error: 'usage', message: '', hint: 'Run `authsome export --help` for the formats.' });
      assert.match(args.includes('--json') ? JSON.parse(result.stdout).message : result.stderr, message);
    });
  }

  it('--json with --format json agrees, and the stored key is untouched by the refused logins', async () => {
    const result = await runCliJson<Record<string, string>>(['export', 'openai', '--json', '--format', 'json'], { home });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.OPENAI_API_KEY, KEY);
  });
});

describe('register - reads the definition from standard input', () => {
  const definition = { schema_version: 1, name: 'acme', display_name: 'Acme', auth_type: 'api_key', flow: 'api_key', host_url: 'api.acme.example', api_key: { header_name: 'X-Api-Key' } };

  it('JSON and JSONC are installed; --force is named for a replacement', async () => {
    const stdinHome = freshHome();
    const first = await runCliJson<{ name: string; path: string }>(['register', '-', '--json'], { home: stdinHome, input: JSON.stringify(definition) });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json.name, 'acme');
    assert.ok(existsSync(first.json.path));
    const again = await runCli(['register', '-'], { home: stdinHome, input: `// Acme, again\n${JSON.stringify(definition)}` });
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /authsome register - --force/);
    const forced = await runCli(['register', '-', '--force'], { home: stdinHome, input: `// Acme, again\n${JSON.stringify({ ...definition, display_name: 'Acme 2' })}` });
    assert.equal(forced.code, 0, forced.stderr);
    const inspected = await runCliJson<{ definition: { display_name: string } }>(['inspect', 'acme', '--json'], { home: stdinHome });
    assert.equal(inspected.json.definition.display_name, 'Acme 2');
  });

  it('a definition that does not validate names standard input and installs nothing', async () => {
    const stdinHome = freshHome();
    const result = await runCli(['register', '-'], { home: stdinHome, input: '{"name": "broken"' });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /standard input/);
    assert.equal((await runCli(['inspect', 'broken'], { home: stdinHome })).code, 3);
  });
});

describe('help and usage errors', () => {
  it('a usage error names the command\'s own help', async () => {
    const cases: Array<[string[], string]> = [
      [['get'], 'authsome get --help'],
      [['get', 'openai', '--bogus'], 'authsome get --help'],
      [['daemon', 'start', '--bogus'], 'authsome daemon start --help'],
      [['completion', 'tcsh'], 'authsome completion --help'],
    ];
    for (const [args, help] of cases) {
      const result = await runCli(args, { home });
      assert.equal(result.code, 2, args.join(' '));
      assert.ok(result.stderr.includes(`(run \`${help}\` for usage)`), `${args.join(' ')}: ${result.stderr}`);
    }
  });

  it('every command\'s help lists the global options, examples and the environment', async () => {
    const program = buildProgram();
    const commands = allCommands(program).filter((c) => c.name() !== 'help');
    for (const command of commands) {
      const path = commandPath(command);
      assert.ok(COMMAND_HELP[path], `no examples for "authsome ${path}"`);
    }
    for (const path of ['get', 'login', 'daemon start', 'export']) {
      const result = await runCli([...path.split(' '), '--help'], { home });
      assert.equal(result.code, 0);
      assert.match(result.stdout, /Global Options:[\s\S]*--json[\s\S]*--profile <name>/, path);
      assert.match(result.stdout, new RegExp(`Examples:\\n  \\$ .*authsome ${path}`), path);
      assert.match(result.stdout, /Environment:\n[\s\S]*AUTHSOME_HOME/, path);
    }
  });

  it('every example parses with the real command tree', async () => {
    for (const [path, help] of Object.entries(COMMAND_HELP)) {
      for (const example of help.examples) {
        const words = authsomeWords(example);
        assert.equal(words.slice(0, path.split(' ').length).join(' '), path, `"${example}" is not an example of ${path}`);
        const program = inertProgram();
        await assert.doesNotReject(program.parseAsync(words, { from: 'user' }), `"${example}" does not parse`);
      }
    }
  });
});

describe('shell completion', () => {
  let bin: string;
  let completionHome: string;
  before(async () => {
    bin = tempDir();
    symlinkSync(CLI, join(bin, 'authsome'));
    completionHome = freshHome();
    for (const connection of ['default', 'work']) {
      assert.equal((await runCli(['login', 'openai', '--api-key-stdin', '--connection', connection], { home: completionHome, input: KEY })).code, 0);
    }
    const custom = join(tempDir(), 'acmecorp.json');
    writeFileSync(custom, JSON.stringify({ schema_version: 1, name: 'acmecorp', display_name: 'Acme', auth_type: 'api_key', flow: 'api_key', host_url: 'api.acme.example' }));
    assert.equal((await runCli(['register', custom], { home: completionHome })).code, 0);
  });
  const shellEnv = () => cleanEnv({ PATH: `${bin}:${process.env.PATH}`, AUTHSOME_HOME: completionHome, HOME: tempDir() });

  /** Candidates bash offers for the command line (the cursor at its end). */
  function bash(line: string): string[] {
    const words = line.split(' ');
    const script = `source <(authsome completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'; COMP_POINT=${line.length}
_authsome; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = spawnSync('bash', ['-c', script], { env: shellEnv(), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.split('\n').filter(Boolean);
  }
  function fish(line: string): string[] {
    const result = spawnSync('fish', ['--no-config', '-c', `authsome completion fish | source; complete -C '${line}'`], { env: shellEnv(), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!);
  }
  /** zsh: the completion function with compadd recording what it is given. */
  function zsh(line: string): string[] {
    const words = line.split(' ');
    // compinit's scan of every completion function takes seconds: compdef is all the script needs of it.
    const script = `compdef() { :; }; source <(authsome completion zsh)
compadd() { shift; print -l -- "\${(@P)1}"; }
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _authsome`;
    const result = spawnSync('zsh', ['-f', '-c', script], { env: shellEnv(), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.split('\n').filter(Boolean);
  }

  it('bash: commands, provider names (custom ones too), connection names and option values', () => {
    assert.deepEqual(bash('authsome ge'), ['get']);
    assert.ok(bash('authsome ').includes('completion') && bash('authsome ').includes('login'));
    assert.deepEqual(bash('authsome daemon st'), ['start', 'status', 'stop']);
    assert.deepEqual(bash('authsome get openr'), ['openrouter']);
    assert.deepEqual(bash('authsome login acme'), ['acmecorp']);
    assert.deepEqual(bash('authsome get openai --connection '), ['default', 'work']);
    assert.deepEqual(bash('authsome export --format '), ['dotenv', 'env', 'json', 'shell']);
    assert.deepEqual(bash('authsome login github --fl'), ['--flow']);
    assert.ok(bash('authsome get openai --').includes('--json'), 'global options are offered after the command');
  });

  // The same answers through the zsh and fish scripts (the candidates come from one place).
  for (const [shell, ask] of [['fish', fish], ['zsh', zsh]] as const) {
    it(`${shell}: commands, custom provider names, connection names, option values`, () => {
      assert.deepEqual(ask('authsome daemon st'), ['start', 'status', 'stop']);
      assert.deepEqual(ask('authsome login acme'), ['acmecorp']);
      assert.deepEqual(ask('authsome get openai --connection '), ['default', 'work']);
      assert.deepEqual(ask('authsome export --format '), ['dotenv', 'env', 'json', 'shell']);
    });
  }

  it('no home: bundled names, and the home is not created', () => {
    const missing = freshHome();
    const result = spawnSync(process.execPath, [CLI, '__complete', '2', 'authsome', 'get', 'git'], { env: cleanEnv({ AUTHSOME_HOME: missing }), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout.split('\n').filter(Boolean), ['github', 'gitlab']);
    assert.equal(existsSync(missing), false);
  });

  it('a file argument is left to the shell', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'defs'));
    writeFileSync(join(dir, 'defs', 'acme.json'), '{}');
    const result = spawnSync('bash', ['-c', `cd '${dir}'; source <(authsome completion bash); COMP_WORDS=(authsome register defs/a); COMP_CWORD=2; _authsome; printf '%s\\n' "\${COMPREPLY[@]}"`], { env: shellEnv(), encoding: 'utf8' });
    assert.equal(result.stdout.trim(), 'defs/acme.json', result.stderr);
  });
});
