// The scale part of the benchmark (run.mjs drives it: `--only scale`). Three throwaway homes with
// one AUTHSOME_MASTER_KEY, each with the measured provider `openai` (one API-key connection, made by
// the CLI) and, written straight into the store (bench/scale-seed.mjs):
// - one:  nothing else (the baseline);
// - 10k:  10,000 more connections in the same profile (half API keys, half OAuth logins not due);
// - wide: 100 profiles × 100 connections (the active profile is one of them).
// Measured, with fresh processes round-robin so machine noise falls on all alike:
// - `get openai --field status` and `export openai` in each home: the 10k and wide medians over the
//   one-connection median (goal ≤ 1.10: a single connection's cost must not depend on the others);
// - `list --json` in each home (goal: ≤ 300 ms with 10,000 connections);
// - the daemon of the one and 10k homes, started with a 1 s scan interval: its resident memory once
//   it has read every connection (goal ≤ 100 MB with 10,000), and the CPU it uses while idle over a
//   few seconds of scans (goal: with 10,000 connections none of which is due, ≤ 1.10 × that of the
//   one-connection daemon, plus 10 ms for the clock tick /proc counts in). Linux only (/proc).
// shutdown() stops the daemons, also after a failure or a signal.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, cli, median, mustRun, percentile, round } from './common.mjs';
import { bundledProviders, seedConnections } from './scale-seed.mjs';

const API_KEY = 'sk-bench-scale-0000000000000000';
const MEASURED = 'openai';
const SAME_COST = 1.1;
const LIST_MS = 300;
const RSS_MB = 100;
/** /proc counts CPU time in clock ticks (USER_HZ, 100 per second on Linux). */
const TICK_MS = 10;
const IDLE_WINDOW_MS = 5000;
const SCAN_INTERVAL_S = '1';
const stats = (ms) => ({ median_ms: round(median(ms)), p90_ms: round(percentile(ms, 90)) });

/** Like common.run, with room for a `list --json` of 10,000 connections (spawnSync's default buffer is 1 MiB). */
function run(argv, env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

export class ScaleBench {
  #homes = {};
  #daemons = new Map();

  constructor(dir) {
    this.dir = dir;
  }

  /** The three homes; returns how many connections each holds in all and in its active profile. */
  setup() {
    const masterKey = randomBytes(32).toString('base64');
    const providers = bundledProviders([MEASURED]);
    const sizes = {};
    for (const name of ['one', '10k', 'wide']) {
      const env = cleanEnv({ AUTHSOME_HOME: join(this.dir, name), AUTHSOME_MASTER_KEY: masterKey, AUTHSOME_PORT: '0', AUTHSOME_DAEMON_REFRESH_INTERVAL: SCAN_INTERVAL_S });
      mustRun(`init (scale ${name})`, cli('init'), env);
      mustRun(`login ${MEASURED} (scale ${name})`, cli('login', MEASURED, '--api-key-stdin'), { ...env }, API_KEY);
      const home = env.AUTHSOME_HOME;
      if (name === '10k') seedConnections({ home, masterKey, profile: 'default', count: 10_000, providers });
      if (name === 'wide') {
        seedConnections({ home, masterKey, profile: 'default', count: 99, providers });
        for (let p = 1; p < 100; p++) seedConnections({ home, masterKey, profile: `team-${String(p).padStart(2, '0')}`, count: 100, providers });
      }
      this.#homes[name] = env;
      sizes[name] = name === 'one' ? { total: 1, profile: 1, profiles: 1 } : name === '10k' ? { total: 10_001, profile: 10_001, profiles: 1 } : { total: 10_000, profile: 100, profiles: 100 };
    }
    this.sizes = sizes;
    return sizes;
  }

  /** Fresh processes of each command in each home, round-robin; then the daemons. */
  measure({ runs, warmup }) {
    const cases = [];
    const expectStatus = (out) => (out === 'connected\n' ? null : `expected "connected"`);
    const expectExport = (out) => (out.includes('OPENAI_API_KEY=') ? null : 'no OPENAI_API_KEY line');
    for (const [home, env] of Object.entries(this.#homes)) {
      const connections = this.sizes[home].profile;
      const expectList = (out) => {
        const { bundled = [], custom = [], unknown = [] } = JSON.parse(out);
        const listed = [...bundled, ...custom, ...unknown].reduce((n, p) => n + p.connections.length, 0);
        return listed === connections ? null : `listed ${listed} connections, expected ${connections}`;
      };
      cases.push(
        { id: `get_${home}`, command: 'get', home, argv: cli('get', MEASURED, '--field', 'status'), env, check: expectStatus },
        { id: `list_${home}`, command: 'list', home, argv: cli('list', '--json'), env, check: expectList },
        { id: `export_${home}`, command: 'export', home, argv: cli('export', MEASURED), env, check: expectExport },
      );
    }
    const once = (c) => {
      const result = run(c.argv, c.env);
      if (result.error || result.status !== 0) throw new Error(`scale: "${c.argv.slice(2).join(' ')}" (${c.home}) failed (exit ${result.status ?? result.signal}): ${(result.error?.message ?? result.stderr).trim()}`);
      const problem = c.check(result.stdout);
      if (problem) throw new Error(`scale: "${c.argv.slice(2).join(' ')}" (${c.home}): ${problem}`);
      return result.ms;
    };
    for (let i = 0; i < warmup; i++) for (const c of cases) once(c);
    const samples = new Map(cases.map((c) => [c.id, []]));
    for (let i = 0; i < runs; i++) for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length];
      samples.get(c.id).push(once(c));
    }
    const row = (id) => stats(samples.get(id));
    const commands = {};
    for (const command of ['get', 'list', 'export']) {
      const one = row(`${command}_one`);
      const tenk = row(`${command}_10k`);
      const wide = row(`${command}_wide`);
      commands[command] = {
        command: command === 'get' ? `authsome get ${MEASURED} --field status` : command === 'list' ? 'authsome list --json' : `authsome export ${MEASURED}`,
        one, '10k': tenk, wide,
        ratio_10k: round(tenk.median_ms / one.median_ms, 2),
        ratio_wide: round(wide.median_ms / one.median_ms, 2),
      };
    }
    const goals = [
      goal('get with 10,000 connections in its profile', `${commands.get.ratio_10k}× the one-connection get`, `≤ ${SAME_COST}×`, commands.get.ratio_10k <= SAME_COST),
      goal('get with 100 profiles × 100 connections', `${commands.get.ratio_wide}×`, `≤ ${SAME_COST}×`, commands.get.ratio_wide <= SAME_COST),
      goal('export of one provider with 10,000 connections', `${commands.export.ratio_10k}×`, `≤ ${SAME_COST}×`, commands.export.ratio_10k <= SAME_COST),
      goal('export of one provider with 100 profiles × 100', `${commands.export.ratio_wide}×`, `≤ ${SAME_COST}×`, commands.export.ratio_wide <= SAME_COST),
      goal('list --json with 10,000 connections', `${commands.list['10k'].median_ms} ms`, `≤ ${LIST_MS} ms`, commands.list['10k'].median_ms <= LIST_MS),
    ];
    const daemon = this.#measureDaemons();
    if (daemon) {
      goals.push(
        goal('daemon resident memory with 10,000 connections', `${daemon['10k'].rss_mb} MB`, `≤ ${RSS_MB} MB`, daemon['10k'].rss_mb <= RSS_MB),
        goal('idle daemon CPU (scans every 1 s), 10,000 connections not due', `${daemon['10k'].idle_cpu_ms} ms vs ${daemon.one.idle_cpu_ms} ms with 1, over ${IDLE_WINDOW_MS / 1000} s`,
          `≤ ${SAME_COST}× + ${TICK_MS} ms`, daemon['10k'].idle_cpu_ms <= SAME_COST * daemon.one.idle_cpu_ms + TICK_MS),
      );
    }
    return { runs, warmup, sizes: this.sizes, commands, daemon, goals };
  }

  /** Each daemon alone: start, wait until it has read every connection, then its RSS and idle CPU. */
  #measureDaemons() {
    if (!existsSync('/proc/self/stat')) return null;
    const result = {};
    for (const home of ['one', '10k']) {
      const env = this.#homes[home];
      const { pid } = JSON.parse(mustRun(`daemon start (scale ${home})`, cli('daemon', 'start', '--json'), env).stdout);
      this.#daemons.set(home, pid);
      try {
        // Read every connection: its first scan waits for that reading, so a finished scan (the
        // scan interval is 1 s) means it is done. Counted by its CPU clock standing still for a scan.
        const settleStart = Date.now();
        let before = cpuMs(pid);
        for (;;) {
          spawnSync('sleep', ['1.5']);
          const now = cpuMs(pid);
          if (now - before <= 2 * TICK_MS || Date.now() - settleStart > 60_000) break;
          before = now;
        }
        const settle_ms = Date.now() - settleStart;
        const start = cpuMs(pid);
        spawnSync('sleep', [String(IDLE_WINDOW_MS / 1000)]);
        const idle = cpuMs(pid) - start;
        result[home] = { pid, rss_mb: round(rssKb(pid) / 1024), peak_rss_mb: round(peakKb(pid) / 1024), idle_cpu_ms: idle, settle_ms };
      } finally {
        run(cli('daemon', 'stop', '--json'), env);
        this.#daemons.delete(home);
      }
    }
    return result;
  }

  /** Best effort and synchronous (it also runs from signal handlers): stops the daemons. */
  shutdown() {
    for (const [home, pid] of this.#daemons) {
      run(cli('daemon', 'stop', '--json'), this.#homes[home]);
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    }
    this.#daemons.clear();
  }
}

function goal(what, figure, target, met) {
  return { what, figure, target, met };
}

function cpuMs(pid) {
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), after the command name in parentheses.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

function statusKb(pid, field) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number.parseInt(line?.split(/\s+/)[1] ?? 'NaN', 10);
}
const rssKb = (pid) => statusKb(pid, 'VmRSS');
const peakKb = (pid) => statusKb(pid, 'VmHWM');

/** The human-readable section. */
export function printScaleSections(report) {
  const s = report.scale;
  const fmt = (ms) => ms.toFixed(1);
  console.log('');
  console.log(`Scale: fresh processes, ${s.runs} runs each after ${s.warmup} warm-up rounds, round-robin over three homes:`);
  console.log(`  one = 1 connection; 10k = ${s.sizes['10k'].profile.toLocaleString('en')} in one profile; wide = ${s.sizes.wide.profiles} profiles × ${s.sizes.wide.profile} (half API keys, half OAuth not due)`);
  const rows = [['command', 'one ms', '10k ms', 'wide ms', '10k/one', 'wide/one']];
  for (const c of Object.values(s.commands)) {
    rows.push([c.command, fmt(c.one.median_ms), fmt(c['10k'].median_ms), fmt(c.wide.median_ms), `${c.ratio_10k.toFixed(2)}×`, `${c.ratio_wide.toFixed(2)}×`]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(`  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`);
  if (s.daemon) {
    const d = s.daemon;
    console.log(`  daemon (scan every ${SCAN_INTERVAL_S} s): one: ${d.one.rss_mb} MB resident, ${d.one.idle_cpu_ms} ms CPU in ${IDLE_WINDOW_MS / 1000} s idle; 10k: ${d['10k'].rss_mb} MB resident (peak ${d['10k'].peak_rss_mb} MB), ${d['10k'].idle_cpu_ms} ms CPU in ${IDLE_WINDOW_MS / 1000} s idle`);
  } else console.log('  daemon: not measured (needs /proc)');
  console.log('  goals:');
  for (const g of s.goals) console.log(`    ${g.what}: ${g.figure} (goal ${g.target}) ${g.met ? 'met' : 'MISSED'}`);
}
