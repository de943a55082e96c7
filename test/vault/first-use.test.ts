// Many processes using a fresh home at the same moment: exactly one master key (or passphrase
// salt) is created and every process seals with it, and the store's schema is created once —
// so every login that exits 0 left a credential that decrypts afterwards.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CLI, runCli, type CliResult } from '../support/cli.ts';
import { cleanupHomes, freshHome } from '../support/homes.ts';
import { cliOnSignal, together, type Contender } from '../support/together.ts';
import { Authsome } from '../../src/index.ts';

after(cleanupHomes);

const keyOf = (round: number, i: number) => `sk-round${round}-process${i}-${'x'.repeat(24)}`;
const loginArgs = (i: number) => ['login', 'openai', '--connection', `c${i}`, '--api-key-stdin'];

/**
 * Node arguments that, once released, run `init --key-source passphrase --json` and then the login,
 * as a setup script would; stdout gets the failing step's name and its JSON error.
 */
function initThenLogin(i: number): string[] {
  const script = `process.stdin.once('data', (chunk) => {
    const { spawnSync } = require('node:child_process');
    const input = chunk.subarray(chunk.indexOf(10) + 1).toString();
    for (const [step, args, stdin] of [['init', ['init', '--key-source', 'passphrase', '--json'], ''], ['login', [...${JSON.stringify(loginArgs(i))}, '--json'], input]]) {
      const r = spawnSync(process.execPath, [${JSON.stringify(CLI)}, ...args], { input: stdin, encoding: 'utf8' });
      process.stderr.write(r.stderr);
      if (r.status !== 0) {
        process.stdout.write(JSON.stringify({ step, ...JSON.parse(r.stdout) }));
        process.exit(r.status ?? 1);
      }
    }
    process.exit(0);
  })`;
  return ['-e', script];
}

function assertAllSucceeded(results: CliResult[], round: number): void {
  results.forEach((result, i) => assert.equal(result.code, 0, `round ${round}, process ${i} exited ${result.code}: ${result.stderr}`));
}

/** Every connection opens with the key this home now has, read by a process that started afterwards. */
async function assertAllDecrypt(home: string, round: number, count: number, env: Record<string, string> = {}): Promise<void> {
  const authsome = new Authsome({ home, env });
  try {
    for (let i = 0; i < count; i++) {
      assert.equal(await authsome.getSecret('openai', { connection: `c${i}` }), keyOf(round, i), `round ${round}: c${i} does not decrypt`);
    }
  } finally {
    await authsome.close();
  }
  // And through the CLI, as a user would check it (one per round keeps the test fast).
  const last = count - 1;
  const shown = await runCli(['get', 'openai', '--connection', `c${last}`, '--field', 'api_key', '--show-secret'], { home, env });
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout.trim(), keyOf(round, last));
}

describe('a fresh home used by many processes at once', () => {
  test('20 simultaneous logins (local_key), 3 rounds: all exit 0 and every connection decrypts', async () => {
    const processes = 20;
    for (let round = 0; round < 3; round++) {
      const home = freshHome();
      const contenders: Contender[] = Array.from({ length: processes }, (_, i) => ({ argv: cliOnSignal(loginArgs(i)), env: { AUTHSOME_HOME: home }, input: keyOf(round, i) }));
      assertAllSucceeded(await together(contenders), round);
      await assertAllDecrypt(home, round, processes);
    }
  });

  test('4 simultaneous `init --key-source passphrase && login`, one with another passphrase, 2 rounds: one salt wins', async () => {
    // Three share a passphrase (they must all end up with the winner's salt); one has its own, so
    // whoever loses must be refused at init rather than write a salt of its own. Each process pays
    // for scrypt (N=2^17) several times, so fewer processes than above.
    const shared = 'correct horse battery staple';
    const passphrases = ['a passphrase of its own', shared, shared, shared];
    for (let round = 0; round < 2; round++) {
      const home = freshHome();
      const contenders: Contender[] = passphrases.map((passphrase, i) => ({
        argv: initThenLogin(i), env: { AUTHSOME_HOME: home, AUTHSOME_PASSPHRASE: passphrase }, input: keyOf(round, i),
      }));
      const results = await together(contenders);
      const winner = passphrases[results.findIndex((r) => r.code === 0)];
      assert.ok(winner, `round ${round}: nobody succeeded: ${results.map((r) => r.stdout + r.stderr).join('\n')}`);
      results.forEach((result, i) => {
        if (passphrases[i] === winner) {
          assert.equal(result.code, 0, `round ${round}, process ${i} (the winning passphrase) exited ${result.code}: ${result.stdout} ${result.stderr}`);
        } else {
          // Refused before it wrote anything: at init, with the mismatch named.
          assert.equal(result.code, 7, `round ${round}, process ${i} (the losing passphrase) exited ${result.code}: ${result.stdout} ${result.stderr}`);
          const failure = JSON.parse(result.stdout) as { step: string; error: string };
          assert.deepEqual([failure.step, failure.error], ['init', 'master_key_mismatch'], result.stdout);
        }
      });
      const won = passphrases.flatMap((p, i) => (p === winner ? [i] : []));
      const authsome = new Authsome({ home, env: { AUTHSOME_PASSPHRASE: winner! } });
      try {
        for (const i of won) assert.equal(await authsome.getSecret('openai', { connection: `c${i}` }), keyOf(round, i), `round ${round}: c${i} does not decrypt`);
        assert.equal((await authsome.list()).providers.find((p) => p.name === 'openai')?.connections.length, won.length);
      } finally {
        await authsome.close();
      }
    }
  });

  test('init with another passphrase than the store\'s is refused and leaves the salt and check value as they were', async () => {
    const home = freshHome();
    const first = await runCli(['init', '--key-source', 'passphrase'], { home, env: { AUTHSOME_PASSPHRASE: 'the first passphrase' } });
    assert.equal(first.code, 0, first.stderr);
    const config = readFileSync(join(home, 'config.json'), 'utf8');
    const other = await runCli(['init', '--key-source', 'passphrase', '--json'], { home, env: { AUTHSOME_PASSPHRASE: 'another passphrase' } });
    assert.equal(other.code, 7, other.stdout);
    assert.equal(JSON.parse(other.stdout).error, 'master_key_mismatch');
    assert.equal(readFileSync(join(home, 'config.json'), 'utf8'), config);
  });

  test('concurrent first writes to a profile\'s store never fail with "already exists"; the schema is the Python\'s, byte for byte', async () => {
    const processes = 20;
    for (let round = 0; round < 2; round++) {
      // The key exists already: only the store file and its kv table are created concurrently —
      // from nothing (round 0), or in an empty store.db that a process stopped half way left (round 1).
      const home = freshHome();
      const init = await runCli(['init'], { home });
      assert.equal(init.code, 0, init.stderr);
      if (round === 1) writeFileSync(join(home, 'profiles', 'default', 'store.db'), '', { mode: 0o600 });
      const contenders: Contender[] = Array.from({ length: processes }, (_, i) => ({ argv: cliOnSignal(loginArgs(i)), env: { AUTHSOME_HOME: home }, input: keyOf(round, i) }));
      const results = await together(contenders);
      for (const result of results) assert.doesNotMatch(result.stderr, /already exists/);
      assertAllSucceeded(results, round);
      const db = new Database(join(home, 'profiles', 'default', 'store.db'), { readonly: true });
      try {
        const kv = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'").get() as { sql: string };
        assert.equal(kv.sql, 'CREATE TABLE kv (\n    key TEXT PRIMARY KEY,\n    value TEXT NOT NULL\n)');
        assert.equal((db.prepare('SELECT count(*) AS n FROM kv').get() as { n: number }).n, processes + 1); // + the provider's metadata record
      } finally {
        db.close();
      }
      await assertAllDecrypt(home, round, processes);
    }
  });
});
