// The daemon part of the benchmark (run.mjs drives it): the API round trip CLI → Unix socket →
// daemon → reply, timed in-process, and the time `login` takes to show its authorization URL with
// a cold and with a warm daemon.
//
// Everything runs in a throwaway home with AUTHSOME_PORT=0 (any free loopback port). Every daemon
// the benchmark sees start is remembered until it is seen to stop; shutdown() stops what is left,
// also after a failure or a signal.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { CLI, cleanEnv, cli, median, msSince, mustRun, node, percentile, round, run } from './common.mjs';

/** A PKCE provider whose authorization needs no network: nothing listens on port 9, and nothing has to. */
const PROVIDER = {
  schema_version: 1,
  name: 'benchas',
  auth_type: 'oauth2',
  flow: 'pkce',
  oauth: { authorization_url: 'http://127.0.0.1:9/authorize', token_url: 'http://127.0.0.1:9/token', scopes: ['read'] },
  client: { client_id_env: 'BENCH_CLIENT_ID' },
};
const LOGIN_ARGS = ['login', PROVIDER.name, '--no-browser'];
const LOGIN_LABEL = `authsome ${LOGIN_ARGS.join(' ')}`;
/** The notice, then (after a blank line) the indented URL; the URL line is complete once its newline arrives. */
const URL_LINE = /open this URL in a browser:\s*\n\s*(https?:\/\/\S+)\n/;
/** A login that shows nothing for this long is stuck; it is killed and the benchmark fails. */
const LOGIN_LIMIT_MS = 60_000;

export class DaemonBench {
  #pids = new Set();
  #login = null;

  constructor(home) {
    this.home = home;
    this.socket = join(home, 'daemon.sock');
    this.env = cleanEnv({ AUTHSOME_HOME: home, AUTHSOME_PORT: '0', BENCH_CLIENT_ID: 'bench' });
  }

  /** init, register the provider, start the daemon. */
  setup(dir) {
    mustRun('init (daemon home)', cli('init'), this.env);
    const file = join(dir, `${PROVIDER.name}.json`);
    writeFileSync(file, JSON.stringify(PROVIDER));
    mustRun(`register ${PROVIDER.name}`, cli('register', file), this.env);
    return this.start();
  }

  start() {
    const status = JSON.parse(mustRun('daemon start', cli('daemon', 'start', '--json'), this.env).stdout);
    this.#pids.add(status.pid);
    return status;
  }

  stop() {
    const stopped = JSON.parse(mustRun('daemon stop', cli('daemon', 'stop', '--json'), this.env).stdout);
    // `daemon stop` returns once the process is gone (it insists with SIGKILL after 5 s).
    if (stopped.pid) this.#pids.delete(stopped.pid);
  }

  /** The main table's row: `daemon status --json` as a fresh process, end to end. */
  statusCase() {
    return {
      id: 'daemon_status', label: 'authsome daemon status --json', argv: cli('daemon', 'status', '--json'), env: this.env,
      validate: (stdout) => (JSON.parse(stdout).running === true ? null : 'running is not true'),
      note: 'a fresh CLI asking the running daemon over its Unix socket: CLI → socket → daemon → reply',
    };
  }

  /** The running daemon's status over the socket, or null when none answers (as the CLI's client decides). */
  async status() {
    try {
      const { code, body } = await getStatus(this.socket);
      return code === 200 && body.service === 'authsome-daemon' ? body : null;
    } catch (error) {
      if (['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ECONNRESET'].includes(error.code)) return null;
      throw error;
    }
  }

  /** `GET /v1/status` from this process, sequentially, a fresh connection each (as every CLI process makes). */
  async roundTrip({ requests, warmup }) {
    const ms = [];
    for (let i = 0; i < warmup + requests; i++) {
      const start = process.hrtime.bigint();
      const { code, body } = await getStatus(this.socket);
      const elapsed = msSince(start);
      if (code !== 200 || body.service !== 'authsome-daemon') throw new Error(`GET /v1/status answered ${code}: ${JSON.stringify(body)}`);
      if (i >= warmup) ms.push(elapsed);
    }
    return {
      endpoint: 'GET /v1/status',
      transport: 'Unix socket, new connection per request',
      requests, warmup_requests: warmup,
      median_ms: round(median(ms), 3),
      p90_ms: round(percentile(ms, 90), 3),
      p99_ms: round(percentile(ms, 99), 3),
      min_ms: round(Math.min(...ms), 3),
      max_ms: round(Math.max(...ms), 3),
    };
  }

  /** Cold (`daemon stop` first, so the login starts one) and warm (one already running), round-robin. */
  async loginUrl({ runs, warmup }) {
    const kinds = {
      cold: async () => this.stop(),
      warm: async () => { if (!(await this.status())) this.start(); },
    };
    const names = Object.keys(kinds);
    const samples = { cold: [], warm: [] };
    for (let i = 0; i < warmup + runs; i++) {
      for (let j = 0; j < names.length; j++) {
        const kind = names[(i + j) % names.length];
        await kinds[kind]();
        const ms = await this.#loginUntilUrl();
        const running = await this.status(); // the daemon the login used (started, when cold)
        if (running) this.#pids.add(running.pid);
        if (i >= warmup) samples[kind].push(ms);
      }
    }
    const stats = (ms) => ({ median_ms: round(median(ms)), p90_ms: round(percentile(ms, 90)), min_ms: round(Math.min(...ms)) });
    return {
      command: LOGIN_LABEL,
      measured: 'spawn → the URL line on stderr, then SIGTERM',
      runs, warmup,
      cold: stats(samples.cold),
      warm: stats(samples.warm),
      cold_minus_warm_ms: round(median(samples.cold) - median(samples.warm)),
    };
  }

  /** Milliseconds from spawn until the URL line is on stderr; then the login is terminated and awaited. */
  #loginUntilUrl() {
    return new Promise((resolve, reject) => {
      const start = process.hrtime.bigint();
      const child = spawn(node, [CLI, ...LOGIN_ARGS], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
      this.#login = child;
      let stderr = '';
      let ms = null;
      let stuck = false;
      const limit = setTimeout(() => { stuck = true; child.kill('SIGKILL'); }, LOGIN_LIMIT_MS);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (ms !== null || !URL_LINE.test(stderr)) return;
        ms = msSince(start);
        child.kill('SIGTERM');
      });
      child.once('error', (error) => { clearTimeout(limit); this.#login = null; reject(error); });
      // 'close' comes after the exit and the end of stderr, so a failure's whole message is there.
      child.once('close', (code, signal) => {
        clearTimeout(limit);
        this.#login = null;
        if (ms !== null) return resolve(ms);
        const why = stuck ? `showed no URL within ${LOGIN_LIMIT_MS / 1000} s` : `exited (${code ?? signal}) before showing its URL`;
        reject(new Error(`"${LOGIN_LABEL}" ${why}: ${stderr.trim() || '(no output)'}`));
      });
    });
  }

  /** Best effort and synchronous (it also runs from signal handlers): ends a login in flight, stops every daemon left. */
  shutdown() {
    if (this.#login && this.#login.exitCode === null && this.#login.signalCode === null) this.#login.kill('SIGKILL');
    if (!existsSync(this.home)) return;
    const result = run(cli('daemon', 'stop', '--json'), this.env);
    try {
      const stopped = JSON.parse(result.stdout);
      if (stopped.pid) this.#pids.delete(stopped.pid);
    } catch { /* reported below by whatever is still alive */ }
    for (const pid of this.#pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch { /* already gone */ }
    }
    this.#pids.clear();
  }
}

/** One `GET /v1/status` on a new connection (agent: false, so nothing is kept alive between calls). */
function getStatus(socketPath) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/v1/status', agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ code: res.statusCode, body: raw ? JSON.parse(raw) : null });
        } catch {
          reject(new Error(`GET /v1/status answered ${res.statusCode} with non-JSON: ${raw.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The human-readable sections, after the start-up table. */
export function printDaemonSections(report) {
  const fmtMs = (ms) => ms.toFixed(1);
  const api = report.daemon_api;
  const e2e = report.results?.find((r) => r.id === 'daemon_status');
  console.log('');
  console.log(`Daemon API round trip: ${api.endpoint} over the home's ${api.transport}, ${api.requests} requests after ${api.warmup_requests} warm-up`);
  console.log('  (in-process: request sent → reply read and parsed, no process start-up)');
  console.log(`  median ${api.median_ms.toFixed(3)} ms   p90 ${api.p90_ms.toFixed(3)} ms   p99 ${api.p99_ms.toFixed(3)} ms   min ${api.min_ms.toFixed(3)} ms   max ${api.max_ms.toFixed(3)} ms`);
  if (e2e) {
    console.log(`  end to end, \`${e2e.command}\` as a fresh process: median ${fmtMs(e2e.median_ms)} ms, p90 ${fmtMs(e2e.p90_ms)} ms, ${e2e.ratio.toFixed(2)}× node -e 0`);
    console.log(`  (the socket round trip is ${round((100 * api.median_ms) / e2e.median_ms, 1)}% of that; the rest is Node start-up and loading the CLI)`);
  }

  const login = report.login_url;
  console.log('');
  console.log(`Time until \`${login.command}\` shows its URL: ${login.runs} runs each after ${login.warmup} warm-up rounds, round-robin`);
  console.log(`  (${login.measured}; the provider's endpoints are never contacted)`);
  const rows = [
    ['', 'median ms', 'p90 ms', ''],
    ['cold daemon', fmtMs(login.cold.median_ms), fmtMs(login.cold.p90_ms), '`daemon stop` before each run: the login starts the daemon'],
    ['warm daemon', fmtMs(login.warm.median_ms), fmtMs(login.warm.p90_ms), 'the daemon is already running'],
    ['cold − warm', fmtMs(login.cold_minus_warm_ms), '', 'what starting the daemon adds (difference of the medians)'],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(`  ${row[0].padEnd(widths[0])}  ${row[1].padStart(widths[1])}  ${row[2].padStart(widths[2])}  ${row[3]}`.trimEnd());
}
