// The store part of the benchmark (run.mjs drives it): the shared PostgreSQL store next to the
// default SQLite one, on the product path (fresh CLI processes, as agents start them).
// - `get` throughput: two homes holding the same connections (an API key, and an OAuth connection
//   from a login to the test authorization server), one on its SQLite files, one on a fresh
//   PostgreSQL database. N processes each run M `authsome get openai --field api_key --show-secret`
//   in a row, all started together; one warm-up round per store, then R rounds per store,
//   alternating which store goes first. Per store: calls/s (all calls over the summed wall times),
//   per-call median and p90, and the ratios PostgreSQL/SQLite. Every call must print the key.
// - Refresh coalescing across machines: three homes ("machines": each its own AUTHSOME_HOME and
//   provider registration, no daemon) on one PostgreSQL database with one AUTHSOME_MASTER_KEY, and
//   one login, on the first. Each round the token is made due, then P processes spread evenly over
//   the machines run `get testas --field access_token --show-secret` at once: the server's count of
//   refresh_token grants (expected 1), the distinct tokens printed (expected 1, and new), wall
//   time; R rounds after a warm-up round. Then one `authsome refresh testas` on the last machine
//   shows the grant survived (one refresh call, a new token that the first machine reads).
// All homes take the master key from AUTHSOME_MASTER_KEY, so the two `get` homes differ only in
// where the records live. PostgreSQL is the test suite's throwaway server (bench/postgres.ts: on
// loopback, fsync off), so the numbers show authsome's side of the cost, not a networked
// database's. shutdown() stops the database, the authorization server, the helpers and any daemon,
// also after a failure or a signal.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TestAuthServer, testasLoginEnv, writeTestasProvider } from './auth-server.mjs';
import { REPO, cleanEnv, cli, median, msSince, mustRun, node, percentile, round, run, runAsync, tsx } from './common.mjs';

const API_KEY = 'sk-bench-store-0000000000000000';
const KEY_ARGS = ['get', 'openai', '--field', 'api_key', '--show-secret'];
const TOKEN_ARGS = ['get', 'testas', '--field', 'access_token', '--show-secret'];
const label = (args) => `authsome ${args.join(' ')}`;
const MACHINES = 3;
const DATABASES = { get: 'authsome_bench_get', fleet: 'authsome_bench_fleet' };
/** A process or server that shows nothing for this long is stuck: it is killed and the benchmark fails. */
const LIMIT_MS = 60_000;
const stats = (ms) => ({ median_ms: round(median(ms)), p90_ms: round(percentile(ms, 90)) });

export class StoreBench {
  #postgres = null;
  #server = new TestAuthServer();
  #helper = null;
  #lines = null;
  #homes = [];
  #children = new Set();
  #pids = new Set();
  #stopped = false;

  constructor(dir) {
    this.dir = dir;
  }

  /** PostgreSQL, the authorization server, the two `get` homes, the three machines, the make-due helper. */
  async setup() {
    mkdirSync(this.dir, { recursive: true });
    const urls = await this.#startPostgres();
    await this.#server.start();
    const provider = join(this.dir, 'testas.json');
    writeTestasProvider(provider, this.#server.issuer);
    const masterKey = randomBytes(32).toString('base64');
    const home = (name, storeUrl) => {
      const env = cleanEnv({ AUTHSOME_HOME: join(this.dir, name), AUTHSOME_PORT: '0', AUTHSOME_MASTER_KEY: masterKey, ...testasLoginEnv(), ...(storeUrl ? { AUTHSOME_STORE_URL: storeUrl } : {}) });
      this.#homes.push(env);
      return env;
    };

    this.stores = { sqlite: home('sqlite'), postgres: home('postgres', urls[DATABASES.get]) };
    for (const [name, env] of Object.entries(this.stores)) {
      this.#init(`${name} home`, env, provider);
      mustRun(`login openai (${name} home)`, cli('login', 'openai', '--api-key-stdin'), env, API_KEY);
      this.#login(`${name} home`, env);
    }

    this.machines = Array.from({ length: MACHINES }, (_, i) => home(`machine${i + 1}`, urls[DATABASES.fleet]));
    this.machines.forEach((env, i) => this.#init(`machine ${i + 1}`, env, provider));
    this.#login('machine 1', this.machines[0]);
    this.#helper = spawn(node, [...tsx('bench/make-due.ts'), this.machines[0].AUTHSOME_HOME], { cwd: REPO, env: this.machines[0], stdio: ['pipe', 'pipe', 'inherit'] });
    this.#lines = createInterface({ input: this.#helper.stdout })[Symbol.asyncIterator]();
  }

  /** N processes × M API-key gets per round on each store: a warm-up round each, then R rounds each, alternating. */
  async throughput({ processes, calls, rounds }) {
    const measured = { sqlite: [], postgres: [] };
    const check = (result) => {
      if (result.stdout !== `${API_KEY}\n`) throw new Error(`"${label(KEY_ARGS)}" printed ${JSON.stringify(result.stdout)}, expected the stored key`);
    };
    for (let r = 0; r <= rounds; r++) {
      for (const store of r % 2 === 0 ? ['sqlite', 'postgres'] : ['postgres', 'sqlite']) {
        const result = await this.#together(Array(processes).fill(this.stores[store]), KEY_ARGS, calls, check);
        if (r > 0) measured[store].push(result);
      }
    }
    const summary = (results) => {
      const ms = results.flatMap((r) => r.chains.flat());
      const wall = results.reduce((sum, r) => sum + r.wall, 0);
      return { calls: ms.length, calls_per_s: round((1000 * ms.length) / wall), ...stats(ms), per_round_calls_per_s: results.map((r) => round((1000 * processes * calls) / r.wall)) };
    };
    const sqlite = summary(measured.sqlite);
    const postgres = summary(measured.postgres);
    return {
      command: label(KEY_ARGS), processes, calls_per_process: calls, rounds, warmup_rounds: 1, sqlite, postgres,
      postgres_over_sqlite: {
        calls_per_s: round(postgres.calls_per_s / sqlite.calls_per_s, 2),
        median: round(postgres.median_ms / sqlite.median_ms, 2),
        p90: round(postgres.p90_ms / sqlite.p90_ms, 2),
      },
    };
  }

  /** P processes over the machines, one get each, right after the token is made due; R rounds after a warm-up; then a forced refresh. */
  async coalescing({ processes, rounds }) {
    const all = [];
    for (let r = 0; r <= rounds; r++) all.push(await this.#coalescingRound(processes));
    const [warm, ...measured] = all;

    const last = this.machines.length;
    const before = this.#token(run(cli(...TOKEN_ARGS), this.machines[0]));
    await this.#server.resetCounts();
    mustRun(`refresh testas (machine ${last})`, cli('refresh', 'testas'), this.machines[last - 1]);
    const refreshCalls = await this.#server.refreshCalls();
    const after = this.#token(run(cli(...TOKEN_ARGS), this.machines[0]));

    return {
      command: label(TOKEN_ARGS), machines: this.machines.length,
      processes_per_machine: this.machines.map((_, m) => Math.floor(processes / last) + (m < processes % last ? 1 : 0)),
      processes, rounds, warmup_rounds: 1,
      warmup_round: { refresh_calls: warm.refresh_calls, distinct_tokens: warm.distinct_tokens, token_changed: warm.token_changed },
      per_round: measured.map(({ ms, ...rest }) => ({ ...rest, ...stats(ms) })),
      every_round_one_refresh: all.every((m) => m.refresh_calls === 1 && m.distinct_tokens === 1 && m.token_changed),
      per_call: stats(measured.flatMap((m) => m.ms)),
      forced_refresh: { command: `authsome refresh testas (machine ${last})`, refresh_calls: refreshCalls, token_changed: after !== before, ok: refreshCalls === 1 && after !== before },
    };
  }

  async #coalescingRound(processes) {
    const before = this.#token(run(cli(...TOKEN_ARGS), this.machines[0]));
    await this.#server.resetCounts();
    await this.#makeDue();
    const tokens = new Set();
    const envs = Array.from({ length: processes }, (_, i) => this.machines[i % this.machines.length]);
    const { wall, chains } = await this.#together(envs, TOKEN_ARGS, 1, (result) => tokens.add(this.#token(result)));
    return {
      refresh_calls: await this.#server.refreshCalls(), distinct_tokens: tokens.size, token_changed: !tokens.has(before),
      wall_ms: round(wall), ms: chains.flat(),
    };
  }

  /** One chain of `calls` timed runs per entry of `envs`, all started at once; `check` sees every result. */
  async #together(envs, args, calls, check) {
    const chain = async (env) => {
      const ms = [];
      for (let i = 0; i < calls; i++) {
        if (this.#stopped) throw new Error('stopped');
        const result = await runAsync(cli(...args), env, this.#children, LIMIT_MS);
        if (result.error || result.status !== 0) {
          throw new Error(`"${label(args)}" failed (exit ${result.status ?? result.signal}): ${(result.error?.message ?? result.stderr).trim() || '(no output)'}`);
        }
        check(result);
        ms.push(result.ms);
      }
      return ms;
    };
    const start = process.hrtime.bigint();
    // allSettled: a failing chain does not leave the others spawning after the report.
    const settled = await Promise.allSettled(envs.map(chain));
    const wall = msSince(start);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return { wall, chains: settled.map((s) => s.value) };
  }

  /** The printed access token of a finished `get testas`, or an error if the CLI failed. */
  #token(result) {
    const token = result.stdout.trim();
    if (result.error || result.status !== 0 || !token) {
      throw new Error(`"${label(TOKEN_ARGS)}" failed (exit ${result.status ?? result.signal}): ${(result.error?.message ?? result.stderr).trim() || '(no output)'}`);
    }
    return token;
  }

  #init(name, env, provider) {
    mustRun(`init (${name})`, cli('init'), env);
    mustRun(`register testas (${name})`, cli('register', provider), env);
  }

  /** Logs in to `testas` through the simulated browser, then stops the daemon the login started. */
  #login(name, env) {
    mustRun(`login testas (${name}, simulated browser)`, cli('login', 'testas'), env);
    const { pid } = JSON.parse(mustRun(`daemon status (${name})`, cli('daemon', 'status', '--json'), env).stdout);
    if (pid) this.#pids.add(pid);
    mustRun(`daemon stop (${name})`, cli('daemon', 'stop', '--json'), env);
    this.#pids.delete(pid);
  }

  /** bench/postgres.ts: the test suite's throwaway server with the two databases; their URLs by name. */
  #startPostgres() {
    // The whole environment: AUTHSOME_TEST_PG_BIN chooses the PostgreSQL binaries, as in the tests.
    const helper = this.#postgres = spawn(node, [...tsx('bench/postgres.ts'), ...Object.values(DATABASES)], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    helper.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      const fail = (why) => { clearTimeout(timer); reject(new Error(`the benchmark's PostgreSQL server ${why}: ${stderr.trim() || '(no output)'}`)); };
      const timer = setTimeout(() => fail(`was not ready within ${LIMIT_MS / 1000} s`), LIMIT_MS);
      createInterface({ input: helper.stdout }).once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line).urls); });
      helper.once('error', (error) => fail(`could not start (${error.message})`));
      helper.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    });
  }

  async #makeDue() {
    this.#helper.stdin.write('due\n');
    const { value, done } = await this.#lines.next();
    if (done || value !== 'ok') throw new Error(`making the token due failed: ${done ? 'the helper exited' : value}`);
  }

  /** Best effort and synchronous (it also runs from signal handlers): ends what this part started. */
  shutdown() {
    this.#stopped = true;
    for (const child of this.#children) child.kill('SIGKILL');
    this.#helper?.stdin.end();
    this.#helper?.kill('SIGTERM');
    for (const env of this.#homes) if (existsSync(env.AUTHSOME_HOME)) run(cli('daemon', 'stop', '--json'), env);
    for (const pid of this.#pids) try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    this.#pids.clear();
    this.#server.stop();
    // The helper stops the server and removes its data on either signal (closing stdin also does).
    if (this.#postgres && this.#postgres.exitCode === null && this.#postgres.signalCode === null) {
      this.#postgres.stdin.end();
      this.#postgres.kill('SIGTERM');
    }
  }
}

/** The human-readable sections, after the proxy's. */
export function printStoreSections(report) {
  const fmt = (ms) => ms.toFixed(1);
  const table = (rows, firstLeft) => {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    for (const row of rows) console.log(`  ${row.map((cell, i) => (i === 0 && firstLeft ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`);
  };

  const t = report.store.get_throughput;
  console.log('');
  console.log(`\`${t.command}\` on SQLite vs PostgreSQL: ${t.processes} processes × ${t.calls_per_process} calls in a row each, all started together;`);
  console.log(`  ${t.rounds} rounds per store after ${t.warmup_rounds} warm-up round, alternating which store goes first`);
  console.log(`  (same connections and AUTHSOME_MASTER_KEY in both homes; PostgreSQL 15 on loopback, fsync off; ${t.processes} processes on ${report.cpus} CPUs,`);
  console.log('  so per-call times include waiting for a CPU)');
  table([
    ['store', 'calls/s', 'median ms', 'p90 ms', 'calls/s per round'],
    ['SQLite', t.sqlite.calls_per_s.toFixed(1), fmt(t.sqlite.median_ms), fmt(t.sqlite.p90_ms), t.sqlite.per_round_calls_per_s.map((v) => v.toFixed(1)).join(' ')],
    ['PostgreSQL', t.postgres.calls_per_s.toFixed(1), fmt(t.postgres.median_ms), fmt(t.postgres.p90_ms), t.postgres.per_round_calls_per_s.map((v) => v.toFixed(1)).join(' ')],
  ], true);
  const r = t.postgres_over_sqlite;
  console.log(`  PostgreSQL / SQLite: calls/s ${r.calls_per_s.toFixed(2)}×, median ${r.median.toFixed(2)}×, p90 ${r.p90.toFixed(2)}×; all ${t.sqlite.calls + t.postgres.calls} timed calls printed the stored key`);

  const co = report.store.coalescing;
  console.log('');
  console.log(`Refresh at expiry across ${co.machines} machines sharing one PostgreSQL store: ${co.processes} processes (${co.processes_per_machine.join(' + ')}) × one \`${co.command}\`,`);
  console.log(`  all started together right after the token is made due; ${co.rounds} rounds after ${co.warmup_rounds} warm-up round (own AUTHSOME_HOME each, no daemon)`);
  const rows = [['round', 'refresh calls', 'distinct tokens', 'wall ms', 'median ms', 'p90 ms']];
  co.per_round.forEach((round, i) => rows.push([String(i + 1), String(round.refresh_calls), String(round.distinct_tokens), fmt(round.wall_ms), fmt(round.median_ms), fmt(round.p90_ms)]));
  table(rows, false);
  console.log(`  per call, all rounds: median ${fmt(co.per_call.median_ms)} ms, p90 ${fmt(co.per_call.p90_ms)} ms`);
  if (co.every_round_one_refresh) console.log('  token endpoint: 1 refresh call and 1 new token for every machine in every round, warm-up included, as expected');
  else {
    const bad = [{ ...co.warmup_round, name: 'warm-up' }, ...co.per_round.map((round, i) => ({ ...round, name: String(i + 1) }))]
      .filter((round) => round.refresh_calls !== 1 || round.distinct_tokens !== 1 || round.token_changed === false);
    console.log(`  !!! NOT COALESCED: expected 1 refresh call and 1 new token per round; round ${bad.map((round) => `${round.name}: ${round.refresh_calls} refresh calls, ${round.distinct_tokens} tokens`).join('; ')} !!!`);
  }
  const f = co.forced_refresh;
  if (f.ok) console.log(`  the grant survived: \`${f.command}\` made 1 refresh call, and machine 1 then read the new token`);
  else console.log(`  !!! GRANT CHECK FAILED: \`${f.command}\` made ${f.refresh_calls} refresh calls (expected 1), token ${f.token_changed ? 'changed' : 'unchanged'} on machine 1 !!!`);
}
