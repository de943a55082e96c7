// The JSON contract (issue 17, item 2; README "JSON output"): every command's --json output, its
// results and its error envelopes, uses snake_case names, one timestamp format, `connection` for a
// connection referred to and `connection_name` only inside a connection's own record (get, list),
// and errors as { error, message, hint? }. Every command of the tree is run here or named with the
// reason it prints no JSON, so a new command cannot ship outside the contract.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allCommands, commandPath } from '../../src/cli/help.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { CODES } from '../../src/util/errors.ts';
import { runCli } from '../support/cli.ts';
import { cleanupHomes, fixtureHome, tempDir } from '../support/homes.ts';

after(cleanupHomes);

const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const TIMESTAMP_FIELD = /(?:^|_)at$|^timestamp$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{6})?Z$/;
/** Maps whose keys are data, not names (header names, host names, connection names, variables). */
const DATA_MAPS = new Set(['metadata', 'headers', 'extra_headers', 'header_templates', 'hosts', 'remote', 'env', 'routes_by_host']);
/** Outputs that print a connection's own record (the store's field names). */
const RECORD_VIEWS = new Set(['get', 'list']);

/** Commands that print no JSON document of their own, and why. */
const NO_JSON: Record<string, string> = {
  'completion': 'prints a shell script',
  'run': 'its output is the child command\'s',
  'daemon serve': 'the daemon in the foreground: its log, not a result',
  'help': 'commander\'s help text',
  'daemon': 'a group of commands: alone, it prints its help',
  'mcp': 'a group of commands: alone, it prints its help',
  'mcp serve': 'an MCP server on stdio: it speaks JSON-RPC, tested in test/mcp/',
  'mcp connect': 'a bridge on stdio: it relays JSON-RPC, tested in test/mcp/',
};

interface Problem { path: string; problem: string }

/** Every way a document breaks the contract, with where. */
function contractProblems(command: string, value: unknown, path = '$', key = '', inDataMap = false): Problem[] {
  const problems: Problem[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => problems.push(...contractProblems(command, item, `${path}[${i}]`, key)));
  } else if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const keys = entries.map(([k]) => k);
    if (keys.includes('connection_name') && !RECORD_VIEWS.has(command)) problems.push({ path, problem: 'connection_name outside a record view' });
    if (keys.includes('connection_name') && keys.includes('connection')) problems.push({ path, problem: 'both connection and connection_name' });
    for (const [k, v] of entries) {
      if (!inDataMap && !SNAKE.test(k)) problems.push({ path: `${path}.${k}`, problem: 'not snake_case' });
      problems.push(...contractProblems(command, v, `${path}.${k}`, inDataMap ? '' : k, !inDataMap && DATA_MAPS.has(k)));
    }
  } else if (typeof value === 'string' && TIMESTAMP_FIELD.test(key) && !TIMESTAMP.test(value)) {
    problems.push({ path, problem: `timestamp "${value}" is not YYYY-MM-DDTHH:MM:SS[.ffffff]Z` });
  }
  return problems;
}

function documents(stdout: string): unknown[] {
  const text = stdout.trim();
  if (text === '') return [];
  try {
    return [JSON.parse(text)];
  } catch {
    return text.split('\n').map((line) => JSON.parse(line) as unknown); // JSON Lines (log)
  }
}

let home: string;
let env: Record<string, string>;
const covered = new Set<string>();

/** Runs `authsome <args> --json` and checks what it printed against the contract. */
async function check(args: string[], options: { input?: string; expectError?: boolean; variables?: boolean } = {}): Promise<unknown[]> {
  const path = commandPathOf(args);
  covered.add(path);
  const result = await runCli([...args, '--json'], { home, env, input: options.input ?? '' });
  const docs = documents(result.stdout);
  assert.ok(docs.length > 0 || path === 'log', `${args.join(' ')}: no JSON printed (exit ${result.code}): ${result.stderr}`);
  if (result.code !== 0) {
    const envelope = docs[0] as { error: string; message: string; hint?: string };
    assert.ok(envelope.error in CODES, `${args.join(' ')}: error code ${envelope.error}`);
    assert.equal(typeof envelope.message, 'string');
    assert.equal(CODES[envelope.error as keyof typeof CODES][0], result.code, `${args.join(' ')}: exit code of ${envelope.error}`);
  } else {
    assert.ok(!options.expectError, `${args.join(' ')} was expected to fail`);
  }
  // export's document is its variables, named as the environment names them; headers' its header names.
  const problems = docs.flatMap((doc) => contractProblems(path.split(' ')[0]!, doc, '$', '', Boolean(options.variables) && result.code === 0));
  assert.deepEqual(problems, [], `${args.join(' ')}: ${JSON.stringify(docs, null, 1).slice(0, 2000)}`);
  return docs;
}

function commandPathOf(args: string[]): string {
  const program = buildProgram();
  const names: string[] = [];
  let command = program;
  for (const word of args) {
    const sub = command.commands.find((c) => c.name() === word);
    if (!sub) break;
    names.push(word);
    command = sub;
  }
  return names.join(' ');
}

before(() => {
  home = fixtureHome();
  env = { AUTHSOME_PORT: '0', BROWSER: 'true' };
});

describe('every --json output follows the contract', () => {
  it('setting up: init, whoami, doctor', async () => {
    await check(['init']);
    const [who] = await check(['whoami']) as Array<{ version: string; store_version: string; json_contract: number }>;
    assert.match(who!.version, /^\d+\.\d+\.\d+/);
    assert.equal(who!.store_version, '2');
    assert.equal(who!.json_contract, 1);
    await check(['doctor']);
  });

  it('providers: list, inspect, register, unregister', async () => {
    const [list] = await check(['list']) as Array<{ bundled: Array<{ name: string; connections: Array<{ connection_name: string; expires_at?: string }> }> }>;
    const github = list!.bundled.find((p) => p.name === 'github')!;
    assert.equal(github.connections[0]!.expires_at, '2030-01-01T00:00:00Z', 'the Python store\'s expiry, in the one format');
    await check(['inspect', 'github']);
    const file = join(tempDir(), 'acme.json');
    writeFileSync(file, JSON.stringify({ schema_version: 1, name: 'acme', display_name: 'Acme', auth_type: 'api_key', flow: 'api_key', host_url: 'api.acme.example', oauth_typo: 1 }));
    await check(['register', file]);
    await check(['unregister', 'acme']);
  });

  it('credentials: login, get, refresh, route, export, set-default, logout, revoke, remove', async () => {
    await check(['login', 'openai', '--api-key-stdin', '--connection', 'second'], { input: 'sk-test-abcdefghijklmnopqrstuv' });
    await check(['get', 'github']);
    await check(['get', 'github', '--field', 'expires_at']);
    await check(['get', 'nosuch'], { expectError: true });
    await check(['refresh', 'openai'], { expectError: true });
    await check(['route', 'https://api.github.com/user']);
    await check(['export', 'openai'], { variables: true });
    // headers --json is the object a header helper reads: header names to values.
    await check(['headers', 'github'], { variables: true });
    await check(['set-default', 'openai', 'second']);
    await check(['logout', 'openai', '--connection', 'second']);
    await check(['login', 'openai', '--api-key-stdin', '--connection', 'third'], { input: 'sk-test-abcdefghijklmnopqrstuv' });
    await check(['revoke', 'openai']);
    await check(['login', 'openai', '--api-key-stdin'], { input: 'sk-test-abcdefghijklmnopqrstuv' });
    await check(['remove', 'openai']);
  });

  it('profiles, keys and the audit log: profile, migrate, rekey, log', async () => {
    await check(['profile']);
    await check(['profile', 'list']);
    await check(['profile', 'create', 'ci']);
    await check(['profile', 'use', 'default']);
    await check(['migrate', '--to', 'sqlite'], { expectError: true });
    await check(['rekey']);
    const entries = await check(['log', '-n', '20']) as Array<{ timestamp: string }>;
    assert.ok(entries.length > 0);
    // The plain lines carry the same timestamps (the file keeps Python's `+00:00`; no output shows it).
    const plain = await runCli(['log', '-n', '20'], { home });
    assert.equal(plain.code, 0, plain.stderr);
    const stamps = plain.stdout.trim().split('\n').map((line) => line.split(' ')[0]);
    assert.deepEqual(stamps, entries.map((entry) => entry.timestamp));
    for (const stamp of stamps) assert.match(stamp!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/);
  });

  it('the daemon and the dashboard: daemon start, status, logs, restart, stop, ui', async () => {
    await check(['daemon', 'start']);
    const [status] = await check(['daemon', 'status']) as Array<{ started_at: string }>;
    assert.match(status!.started_at, /Z$/);
    const plain = await runCli(['daemon', 'status'], { home });
    assert.equal(/^since\s+(\S+)$/m.exec(plain.stdout)?.[1], status!.started_at, plain.stdout);
    await check(['daemon', 'logs', '-n', '5']);
    await check(['daemon', 'restart']);
    await check(['ui', '--no-browser']);
    await check(['daemon', 'stop']);
  });

  it('every command is checked here, or named with the reason it prints no JSON', () => {
    const missing = allCommands(buildProgram()).map(commandPath).filter((path) => !covered.has(path) && !(path in NO_JSON));
    assert.deepEqual(missing, []);
  });
});
