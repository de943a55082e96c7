// The proxy part of the benchmark (run.mjs drives it): HTTPS requests direct versus through the
// `authsome run` proxy, measured on the real product path. An HTTPS upstream runs in a process of
// its own (bench/proxy-upstream.mjs: a throwaway CA, leaves for api.bench.test and newN.bench.test);
// a throwaway home holds an API-key provider routed to *.bench.test; the client
// (bench/proxy-client.mjs) runs as the child of `authsome run`, with AUTHSOME_PROXY_CONNECT_TO
// sending those hosts to the upstream and NODE_EXTRA_CA_CERTS making the proxy trust it. In that
// one process it times both paths, alternating them: sequential keep-alive requests, concurrent
// streams, and the first request to never-seen hosts. The direct path is the baseline, measured in
// the same run. shutdown() stops the upstream and any `run` still going, also on a signal.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CLI, cleanEnv, cli, median, mustRun, node, percentile, round } from './common.mjs';

const CLIENT = fileURLToPath(new URL('./proxy-client.mjs', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./proxy-upstream.mjs', import.meta.url));
const DOMAIN = 'bench.test';
const HOST = `api.${DOMAIN}`;
const KEY = 'bench-proxy-key-0000000000000000';
const PROVIDER = {
  schema_version: 1, name: 'benchkey', auth_type: 'api_key', flow: 'api_key', host_url: `regex:^[a-z0-9]+\\.${DOMAIN.replace('.', '\\.')}$`,
  api_key: { header_name: 'X-Api-Key', env_var: 'BENCH_KEY' },
};
const COMMAND = `authsome run -- node bench/proxy-client.mjs`;
/** A helper that shows nothing for this long is stuck: it is stopped and the benchmark fails. */
const LIMIT_MS = 180_000;
// Issue 18, part 3: ≤ 0.5 ms added per keep-alive request, ≥ 60 % of direct throughput with 8 streams.
const GOALS = { added_median_ms: 0.5, throughput_ratio: 0.6, new_host_extra_ms: 15 };

export class ProxyBench {
  #upstream = null;
  #run = null;

  constructor(home) {
    this.home = home;
  }

  /** The upstream (its port and CA), then init, register and log in to the API-key provider. */
  async setup(dir, { newHosts }) {
    const work = join(dir, 'proxy-upstream');
    mkdirSync(work, { recursive: true });
    this.newHosts = newHosts;
    const hosts = [HOST, ...Array.from({ length: newHosts }, (_, i) => `new${i + 1}.${DOMAIN}`)];
    const upstream = this.#upstream = spawn(node, [UPSTREAM, work, ...hosts], {
      env: cleanEnv({ BENCH_EXPECTED_KEY: KEY }), stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    upstream.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    this.port = await new Promise((resolve, reject) => {
      const fail = (why) => { clearTimeout(timer); reject(new Error(`the proxy benchmark's HTTPS upstream ${why}: ${stderr.trim() || '(no output)'}`)); };
      const timer = setTimeout(() => fail(`was not ready within ${LIMIT_MS / 1000} s`), LIMIT_MS);
      createInterface({ input: upstream.stdout }).once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line).port); });
      upstream.once('error', (error) => fail(`could not start (${error.message})`));
      upstream.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    });
    this.ca = join(work, 'upstream-ca.pem');
    const connectTo = hosts.map((host) => `${host}:443:127.0.0.1:${this.port}`).join(',');
    this.env = cleanEnv({ AUTHSOME_HOME: this.home, AUTHSOME_PORT: '0', AUTHSOME_TESTING: '1', AUTHSOME_PROXY_CONNECT_TO: connectTo, NODE_EXTRA_CA_CERTS: this.ca });
    mustRun('init (proxy home)', cli('init'), this.env);
    const file = join(dir, `${PROVIDER.name}.json`);
    writeFileSync(file, JSON.stringify(PROVIDER));
    mustRun(`register ${PROVIDER.name}`, cli('register', file), this.env);
    mustRun(`login ${PROVIDER.name}`, cli('login', PROVIDER.name, '--api-key-stdin'), this.env, KEY);
  }

  /** One `authsome run` of the client; its JSON line summarised against the direct baseline. */
  async measure({ requests, warmup, streams, perStream }) {
    const params = { port: this.port, ca: this.ca, host: HOST, domain: DOMAIN, requests, warmup, streams, perStream, newHosts: this.newHosts };
    const spawnedAt = Date.now();
    const raw = JSON.parse(await this.#runClient(params));
    const stat = (ms) => ({ median_ms: round(median(ms), 3), p99_ms: round(percentile(ms, 99), 3) });
    const sum = (ms) => ms.reduce((a, b) => a + b, 0);
    const sequential = { requests, warmup_requests: warmup };
    for (const path of ['direct', 'proxy']) sequential[path] = { ...stat(raw.sequential[path]), requests_per_s: round((1000 * requests) / sum(raw.sequential[path])) };
    const concurrent = { streams, requests_per_stream: perStream };
    for (const path of ['direct', 'proxy']) {
      const c = raw.concurrent[path];
      // CPU time per request of each process while this path's streams ran (µs; the proxy's from /proc, null without it).
      const perRequest = (us) => (us === null ? null : Math.round(us / c.ms.length));
      concurrent[path] = { ...stat(c.ms), requests_per_s: round((1000 * c.ms.length) / c.wall),
        cpu_us_per_request: { client: perRequest(c.cpu.client), upstream: perRequest(c.cpu.upstream), proxy: perRequest(c.cpu.proxy) } };
    }
    for (const part of [sequential, concurrent]) {
      part.added_median_ms = round(part.proxy.median_ms - part.direct.median_ms, 3);
      part.added_p99_ms = round(part.proxy.p99_ms - part.direct.p99_ms, 3);
      part.throughput_ratio = round(part.proxy.requests_per_s / part.direct.requests_per_s, 3);
    }
    const extra = raw.newHost.proxy.map((ms, i) => ms - raw.newHost.direct[i]);
    const newHost = {
      hosts: params.newHosts,
      direct_median_ms: round(median(raw.newHost.direct), 2), proxy_median_ms: round(median(raw.newHost.proxy), 2),
      extra_median_ms: round(median(extra), 2), extra_max_ms: round(Math.max(...extra), 2),
    };
    const { direct, proxy } = raw.tally;
    const injection = { proxied_requests: proxy.requests, proxied_with_key: proxy.injected, direct_requests: direct.requests, direct_with_key: direct.injected };
    injection.ok = proxy.injected === proxy.requests && direct.injected === 0;
    return {
      command: COMMAND,
      // From spawning `authsome run` until its child process exists: the CLI's start, the store
      // read, the run's own CA (minted, name-constrained), the proxy listening, the bundle written.
      run_startup_ms: round(raw.startedAt - spawnedAt, 1),
      first_request_of_run: { direct_ms: round(raw.first.direct, 2), proxy_ms: round(raw.first.proxy, 2), extra_ms: round(raw.first.proxy - raw.first.direct, 2) },
      sequential, concurrent, new_host: newHost, injection,
      upstream_tls_connections: { direct: raw.connections.total.direct, proxy: raw.connections.total.proxy, opened_while_timed: raw.connections.opened_while_timed },
      targets: [
        { id: 'added_median_latency', label: 'added median latency, sequential', value: sequential.added_median_ms, unit: 'ms', goal: `≤ ${GOALS.added_median_ms} ms`, met: sequential.added_median_ms <= GOALS.added_median_ms },
        { id: 'throughput', label: `throughput, ${streams} concurrent streams`, value: concurrent.throughput_ratio, unit: 'ratio', goal: `≥ ${GOALS.throughput_ratio * 100} % of direct`, met: concurrent.throughput_ratio >= GOALS.throughput_ratio },
        { id: 'new_host', label: 'first request to a new host, extra', value: newHost.extra_median_ms, unit: 'ms', goal: `≤ ${GOALS.new_host_extra_ms} ms`, met: newHost.extra_median_ms <= GOALS.new_host_extra_ms },
      ],
    };
  }

  #runClient(params) {
    return new Promise((resolve, reject) => {
      const child = this.#run = spawn(node, [CLI, 'run', '--', node, CLIENT, JSON.stringify(params)], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let stuck = false;
      // SIGTERM: `run` forwards it to the client, then closes the proxy.
      const limit = setTimeout(() => { stuck = true; child.kill('SIGTERM'); }, LIMIT_MS);
      child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
      child.once('error', (error) => { clearTimeout(limit); this.#run = null; reject(error); });
      child.once('close', (code, signal) => {
        clearTimeout(limit);
        this.#run = null;
        const line = stdout.trim().split('\n').pop();
        if (code === 0 && line) return resolve(line);
        reject(new Error(`"${COMMAND}" ${stuck ? `did not finish within ${LIMIT_MS / 1000} s` : `failed (exit ${code ?? signal})`}: ${stderr.trim() || '(no output)'}`));
      });
    });
  }

  /** Best effort and synchronous (it also runs from signal handlers). */
  shutdown() {
    if (this.#run && this.#run.exitCode === null && this.#run.signalCode === null) this.#run.kill('SIGTERM');
    if (this.#upstream && this.#upstream.exitCode === null && this.#upstream.signalCode === null) {
      this.#upstream.stdin.end();
      this.#upstream.kill('SIGTERM');
    }
  }
}

/** The human-readable section. */
export function printProxySections(report) {
  const p = report.proxy;
  const f = (ms) => ms.toFixed(3);
  const pct = (ratio) => `${(ratio * 100).toFixed(0)} %`;
  console.log('');
  console.log(`HTTPS through the proxy: \`${p.command}\`, both paths timed in that child, alternating`);
  console.log(`  (direct: undici Agent straight to a local HTTPS upstream in its own process; proxy: undici ProxyAgent via`);
  console.log(`  HTTPS_PROXY, CONNECT to ${HOST}, the proxy's leaf, X-Api-Key injected, upstream TLS from the proxy; keep-alive both ways)`);
  const rows = [['', 'direct median', 'p99', 'req/s', 'proxy median', 'p99', 'req/s', '+median ms', '+p99 ms', 'throughput']];
  const row = (label, r) => rows.push([label, f(r.direct.median_ms), f(r.direct.p99_ms), r.direct.requests_per_s.toFixed(0), f(r.proxy.median_ms), f(r.proxy.p99_ms),
    r.proxy.requests_per_s.toFixed(0), f(r.added_median_ms), f(r.added_p99_ms), pct(r.throughput_ratio)]);
  row(`${p.sequential.requests} sequential`, p.sequential);
  row(`${p.concurrent.streams} streams × ${p.concurrent.requests_per_stream}`, p.concurrent);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(`  ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`);
  console.log(`  (ms per request, from the call until the body is read; ${p.sequential.warmup_requests} warm-up requests each way first; streams: a warm-up pass, then direct, proxy, proxy, direct)`);
  const cpu = (path) => {
    const c = p.concurrent[path].cpu_us_per_request;
    return `client ${c.client} + upstream ${c.upstream}${c.proxy === null ? ' + proxy (no /proc)' : ` + proxy ${c.proxy}`} = ${c.client + c.upstream + (c.proxy ?? 0)} µs`;
  };
  console.log(`  CPU time per request with ${p.concurrent.streams} streams: direct ${cpu('direct')}; through the proxy ${cpu('proxy')}`);
  const n = p.new_host;
  console.log(`  first request to a new host (${n.hosts} hosts, fresh agents): direct median ${n.direct_median_ms.toFixed(2)} ms, proxy ${n.proxy_median_ms.toFixed(2)} ms, extra median ${n.extra_median_ms.toFixed(2)} ms (max ${n.extra_max_ms.toFixed(2)})`);
  console.log(`  first request of the run: direct ${p.first_request_of_run.direct_ms.toFixed(2)} ms, proxy ${p.first_request_of_run.proxy_ms.toFixed(2)} ms, extra ${p.first_request_of_run.extra_ms.toFixed(2)} ms (the run's first leaf key pair and credential read)`);
  console.log(`  run start-up: ${p.run_startup_ms.toFixed(1)} ms from spawning \`authsome run\` until its child starts (CLI start, store read, the run's own CA, the proxy, the bundle)`);
  const c = p.upstream_tls_connections;
  console.log(`  upstream TLS connections: direct ${c.direct}, from the proxy ${c.proxy}; opened during the timed sequential and stream requests: direct ${c.opened_while_timed.direct}, from the proxy ${c.opened_while_timed.proxy}`);
  const inj = p.injection;
  if (inj.ok) console.log(`  credential: all ${inj.proxied_requests} proxied requests reached the upstream with the injected X-Api-Key; none of the ${inj.direct_requests} direct ones did`);
  else console.log(`  !!! CREDENTIAL NOT INJECTED AS EXPECTED: ${inj.proxied_with_key} of ${inj.proxied_requests} proxied requests carried the key (expected all), ${inj.direct_with_key} of ${inj.direct_requests} direct ones (expected 0) !!!`);
  const t = [['target', 'measured', 'goal', '']];
  for (const g of p.targets) t.push([g.label, g.unit === 'ratio' ? pct(g.value) : `${g.value.toFixed(g.unit === 'ms' && g.id === 'new_host' ? 2 : 3)} ms`, g.goal, g.met ? 'met' : 'MISSED']);
  const w = [0, 1, 2].map((i) => Math.max(...t.map((r) => r[i].length)));
  for (const r of t) console.log(`  ${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}`.trimEnd());
}
