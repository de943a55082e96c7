// Issue 18, part 1: a command loads only what it needs. Building the program (`--help`,
// `--version`, a command's own help, a usage error) loads no broker, no store and no native SQLite
// addon; a `get` does. Observed from outside: the CLI runs with a preload that prints, as it exits,
// which of those CommonJS packages Node loaded (their files are in the require cache). And a `get`
// of an API key loads none of the OAuth, refresh, doctor, rekey or removal code: a second preload
// registers a module hook that prints the names each loaded chunk of the bundle exports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, cleanEnv, runCli } from '../support/cli.ts';
import { cleanupHomes, freshHome, tempDir } from '../support/homes.ts';

const probe = join(tempDir('authsome-probe-'), 'loaded.mjs');
writeFileSync(probe, `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  process.stderr.write('loaded: ' + JSON.stringify(Object.keys(cache).filter((p) => /better-sqlite3|@napi-rs/.test(p)).map((p) => p.replace(/.*node_modules\\//, ''))) + '\\n');
  process.stderr.write('built-ins: ' + JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length))) + '\\n');
});
`);
const exportsProbe = join(tempDir('authsome-probe-'), 'exports.mjs');
// The hook runs on the loader's own thread: written synchronously, its lines cannot be lost when the CLI exits.
writeFileSync(join(exportsProbe, '..', 'hooks.mjs'), `import { writeSync } from 'node:fs';
export async function load(url, context, next) {
  const result = await next(url, context);
  if (url.startsWith('file:') && url.includes('/dist/') && result.source) {
    writeSync(2, 'chunk: ' + url.slice(url.lastIndexOf('/') + 1) + '\\n');
    for (const m of String(result.source).matchAll(/export\\{([^}]*)\\}/g)) {
      writeSync(2, 'exports: ' + m[1].split(',').map((s) => s.trim().split(/\\s+as\\s+/).pop()).join(' ') + '\\n');
    }
  }
  return result;
}
`);
writeFileSync(exportsProbe, `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
after(cleanupHomes);

/** The files of the bundle a run of the CLI loaded, the entry (main.js) included. */
function loadedChunks(args: string[], home: string): string[] {
  return probeExports(args, home).split('\n').filter((l) => l.startsWith('chunk: ')).map((l) => l.slice('chunk: '.length));
}

/** The names exported by every chunk of the bundle a run of the CLI loaded. */
function exportedNames(args: string[], home: string): Set<string> {
  return new Set(probeExports(args, home).split('\n').filter((l) => l.startsWith('exports: ')).flatMap((l) => l.slice('exports: '.length).split(' ')));
}

function probeExports(args: string[], home: string): string {
  const result = spawnSync(process.execPath, ['--import', exportsProbe, CLI, ...args], { env: cleanEnv({ NO_COLOR: '1', AUTHSOME_HOME: home }), encoding: 'utf8' });
  assert.ok(result.status === 0 || result.status === 1, result.stderr);
  return result.stderr;
}

/** Runs the built CLI with the probe; the packages it loaded and how it ended. */
function loaded(args: string[], home: string, input = ''): { code: number | null; stdout: string; modules: string[]; builtins: string[] } {
  const result = spawnSync(process.execPath, ['--import', probe, CLI, ...args], { env: cleanEnv({ NO_COLOR: '1', AUTHSOME_HOME: home }), input, encoding: 'utf8' });
  const line = result.stderr.split('\n').find((l) => l.startsWith('loaded: '));
  assert.ok(line, `the probe printed nothing: ${result.stderr}`);
  const builtins = result.stderr.split('\n').find((l) => l.startsWith('built-ins: '));
  assert.ok(builtins, `the probe printed no built-ins: ${result.stderr}`);
  return { code: result.status, stdout: result.stdout, modules: JSON.parse(line.slice('loaded: '.length)) as string[], builtins: JSON.parse(builtins.slice('built-ins: '.length)) as string[] };
}

describe('what a command loads', () => {
  for (const args of [['--help'], ['--version'], ['get', '--help'], ['login', '--help'], ['no-such-command']]) {
    it(`authsome ${args.join(' ')}: no store, no native addon`, () => {
      const run = loaded(args, freshHome());
      assert.equal(run.code, args[0] === 'no-such-command' ? 2 : 0);
      assert.deepEqual(run.modules, []);
      // commander spawns only stand-alone executable subcommands (authsome has none): its
      // child_process, and the net, dgram and stream modules behind it, are loaded on first use.
      assert.ok(run.builtins.includes('fs'), 'the probe sees built-ins');
      assert.ok(!run.builtins.includes('child_process'), 'child_process was loaded');
    });
  }

  it('authsome get loads the store and its native addon (the probe sees them when they are loaded)', async () => {
    const home = freshHome();
    assert.equal((await runCli(['init'], { home })).code, 0);
    assert.equal((await runCli(['login', 'openai', '--api-key-stdin'], { home, input: 'sk-start-up-0000000000000000' })).code, 0);
    const run = loaded(['get', 'openai', '--field', 'status'], home);
    assert.equal(run.stdout, 'connected\n');
    assert.ok(run.modules.includes('better-sqlite3/build/Release/better_sqlite3.node'), run.modules.join(', '));
    assert.ok(!run.builtins.includes('child_process'), 'get loaded child_process');
  });

  it('authsome get of an API key loads no OAuth, refresh, doctor, rekey or removal code (and the probe sees them when a command needs them)', async () => {
    const home = freshHome();
    assert.equal((await runCli(['login', 'openai', '--api-key-stdin'], { home, input: 'sk-start-up-0000000000000000' })).code, 0);
    const get = exportedNames(['get', 'openai', '--field', 'status'], home);
    assert.ok(get.has('Authsome') && get.has('Vault'), 'the probe sees the chunks get loads');
    for (const name of ['OAuthTransport', 'refreshTokenGrant', 'ensureFresh', 'doctor', 'rekey', 'logout', 'listProviders', 'explainRoute', 'authenticatedFetch']) {
      assert.ok(!get.has(name), `get loaded the module that exports ${name}`);
    }
    const doctorNames = exportedNames(['doctor', '--json'], home);
    assert.ok(doctorNames.has('doctor'), 'doctor loads it: ' + [...doctorNames].join(' '));
    assert.ok(exportedNames(['list', '--json'], home).has('listProviders'), 'list loads it');
  });

  it('the code every command runs comes in a few files, not dozens (scripts/merge-chunks.mjs: Node pays per module it loads)', async () => {
    const home = freshHome();
    assert.equal((await runCli(['login', 'openai', '--api-key-stdin'], { home, input: 'sk-start-up-0000000000000000' })).code, 0);
    const version = loadedChunks(['--version'], home);
    assert.ok(version.includes('main.js'), `the probe sees the entry: ${version.join(' ')}`);
    assert.ok(version.length <= 2, `--version loaded ${version.length} files: ${version.join(' ')}`);
    const get = loadedChunks(['get', 'openai', '--field', 'status'], home);
    assert.ok(get.includes('main.js') && get.includes('command.js'), `the probe sees the merged files: ${get.join(' ')}`);
    assert.ok(get.length <= 5, `get loaded ${get.length} files: ${get.join(' ')}`);
  });

  it('a module is in one file of the bundle only: one error class, one redactor (two copies would be two states)', () => {
    const dir = dirname(CLI);
    const files = readdirSync(dir).filter((name) => name.endsWith('.js'));
    for (const definition of ['AuthsomeError=class', 'var redactor=', 'function parseKey(']) {
      const holders = files.filter((name) => readFileSync(join(dir, name), 'utf8').includes(definition));
      assert.equal(holders.length, 1, `${definition} is in ${holders.join(', ') || 'no file'}`);
    }
  });
});
