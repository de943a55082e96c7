// Issue 18, part 1: a command loads only what it needs. Building the program (`--help`,
// `--version`, a command's own help, a usage error) loads no broker, no store and no native SQLite
// addon; a `get` does. Observed from outside: the CLI runs with a preload that prints, as it exits,
// which of those CommonJS packages Node loaded (their files are in the require cache).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, cleanEnv, runCli } from '../support/cli.ts';
import { cleanupHomes, freshHome, tempDir } from '../support/homes.ts';

const probe = join(tempDir('authsome-probe-'), 'loaded.mjs');
writeFileSync(probe, `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => process.stderr.write('loaded: ' + JSON.stringify(Object.keys(cache).filter((p) => /better-sqlite3|@napi-rs/.test(p)).map((p) => p.replace(/.*node_modules\\//, ''))) + '\\n'));
`);
after(cleanupHomes);

/** Runs the built CLI with the probe; the packages it loaded and how it ended. */
function loaded(args: string[], home: string, input = ''): { code: number | null; stdout: string; modules: string[] } {
  const result = spawnSync(process.execPath, ['--import', probe, CLI, ...args], { env: cleanEnv({ NO_COLOR: '1', AUTHSOME_HOME: home }), input, encoding: 'utf8' });
  const line = result.stderr.split('\n').find((l) => l.startsWith('loaded: '));
  assert.ok(line, `the probe printed nothing: ${result.stderr}`);
  return { code: result.status, stdout: result.stdout, modules: JSON.parse(line.slice('loaded: '.length)) as string[] };
}

describe('what a command loads', () => {
  for (const args of [['--help'], ['--version'], ['get', '--help'], ['login', '--help'], ['no-such-command']]) {
    it(`authsome ${args.join(' ')}: no store, no native addon`, () => {
      const run = loaded(args, freshHome());
      assert.equal(run.code, args[0] === 'no-such-command' ? 2 : 0);
      assert.deepEqual(run.modules, []);
    });
  }

  it('authsome get loads the store and its native addon (the probe sees them when they are loaded)', async () => {
    const home = freshHome();
    assert.equal((await runCli(['init'], { home })).code, 0);
    assert.equal((await runCli(['login', 'openai', '--api-key-stdin'], { home, input: 'sk-start-up-0000000000000000' })).code, 0);
    const run = loaded(['get', 'openai', '--field', 'status'], home);
    assert.equal(run.stdout, 'connected\n');
    assert.ok(run.modules.includes('better-sqlite3/build/Release/better_sqlite3.node'), run.modules.join(', '));
  });
});
