// The proxy benchmark's client (bench/proxy.mjs starts it): it runs as the child of
// `authsome run`, so it holds what `run` gives any child (HTTPS_PROXY with the run's secret, the CA
// bundle, a placeholder in BENCH_KEY) and times both paths in this one process, alternating them:
//   direct: an undici Agent straight to the upstream (servername set, the upstream's CA trusted);
//   proxy:  an undici ProxyAgent through HTTPS_PROXY (CONNECT, the proxy's leaf, the key injected).
// Every request sends the placeholder as X-Api-Key; the upstream says whether the real key arrived.
// Prints raw per-request milliseconds as one JSON line; any failed request exits non-zero.
import { readFileSync } from 'node:fs';
import { Agent, ProxyAgent, request } from 'undici';

const o = JSON.parse(process.argv[2]);
const upstreamCA = readFileSync(o.ca, 'utf8');
const bundle = readFileSync(process.env.SSL_CERT_FILE, 'utf8'); // system roots + the upstream's CA + authsome's, from `run`
// Like the direct path, the proxied path trusts exactly one CA: authsome's, the bundle's last
// certificate. Building a TLS context from the ~140-root bundle costs a fresh agent ~20 ms, which
// is the client's own cost (the same with or without the proxy), not the proxy's.
const authsomeCA = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g).at(-1);
const KEEP = { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 };
const directAgent = (host) => new Agent({ ...KEEP, connect: { servername: host, ca: upstreamCA } });
const proxyAgent = () => new ProxyAgent({ ...KEEP, uri: process.env.HTTPS_PROXY, requestTls: { ca: authsomeCA } });
const tally = { direct: { requests: 0, injected: 0 }, proxy: { requests: 0, injected: 0 } };

/** One GET, timed from the call until the body is read; a non-200 answer is a failure. */
async function once(path, dispatcher, host = o.host) {
  const url = path === 'direct' ? `https://127.0.0.1:${o.port}/v1/bench` : `https://${host}/v1/bench`;
  const start = performance.now();
  const { statusCode, body } = await request(url, { dispatcher, headers: { 'x-api-key': process.env.BENCH_KEY, 'x-bench-path': path } });
  const text = await body.text();
  const ms = performance.now() - start;
  if (statusCode !== 200) throw new Error(`${path} GET https://${host}/v1/bench answered ${statusCode}: ${text.trim().slice(0, 300)}`);
  tally[path].requests++;
  if (JSON.parse(text).key === 'injected') tally[path].injected++;
  return ms;
}

const agents = { direct: directAgent(o.host), proxy: proxyAgent(), stats: directAgent(o.host) };
/** The upstream's count of TLS connections per path so far (its own connection counted as 'stats'). */
const connections = async () => (await request(`https://127.0.0.1:${o.port}/stats`, { dispatcher: agents.stats, headers: { 'x-bench-path': 'stats' } })
  .then((r) => r.body.json())).connections;
/**
 * CPU time so far in µs: this client's, the upstream's (from /stats) and the proxy's — `run`, this
 * process's parent, read from /proc (USER_HZ ticks of 10 ms; null where there is no /proc).
 */
const TICK_US = 10_000;
function proxyCpu() {
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return null;
  }
}
async function cpu() {
  const stats = await request(`https://127.0.0.1:${o.port}/stats`, { dispatcher: agents.stats, headers: { 'x-bench-path': 'stats' } }).then((r) => r.body.json());
  const own = process.cpuUsage();
  return { client: own.user + own.system, upstream: stats.cpu_us, proxy: proxyCpu() };
}
const spent = (before, after) => Object.fromEntries(Object.keys(before).map((k) => [k, before[k] === null || after[k] === null ? null : after[k] - before[k]]));
const opened = { direct: 0, proxy: 0 };
const count = (before, after) => { for (const path in opened) opened[path] += (after[path] ?? 0) - (before[path] ?? 0); };
const orders = [['direct', 'proxy'], ['proxy', 'direct']];

// The run's first request each way: new TLS; through the proxy also the run's first leaf and credential read.
const first = { direct: await once('direct', agents.direct), proxy: await once('proxy', agents.proxy) };

// (1) Sequential keep-alive requests, one each way in turn, after untimed warm-up ones.
const sequential = { direct: [], proxy: [] };
for (let i = 0; i < o.warmup; i++) for (const path of orders[i % 2]) await once(path, agents[path]);
let before = await connections();
for (let i = 0; i < o.requests; i++) for (const path of orders[i % 2]) sequential[path].push(await once(path, agents[path]));
count(before, await connections());

// (2) Concurrent streams: a warm-up pass each way, then direct, proxy, proxy, direct (half the requests each time).
async function streams(path, perStream) {
  const ms = [];
  const used = await cpu();
  const start = performance.now();
  await Promise.all(Array.from({ length: o.streams }, async () => {
    for (let i = 0; i < perStream; i++) ms.push(await once(path, agents[path]));
  }));
  const wall = performance.now() - start;
  return { ms, wall, cpu: spent(used, await cpu()) };
}
for (const path of orders[0]) await streams(path, Math.min(20, o.perStream));
before = await connections();
const noCpu = () => ({ client: 0, upstream: 0, proxy: 0 });
const concurrent = { direct: { ms: [], wall: 0, cpu: noCpu() }, proxy: { ms: [], wall: 0, cpu: noCpu() } };
for (const [path, per] of [['direct', Math.ceil(o.perStream / 2)], ['proxy', Math.ceil(o.perStream / 2)], ['proxy', Math.floor(o.perStream / 2)], ['direct', Math.floor(o.perStream / 2)]]) {
  if (per === 0) continue;
  const r = await streams(path, per);
  concurrent[path].ms.push(...r.ms);
  concurrent[path].wall += r.wall;
  for (const k in r.cpu) concurrent[path].cpu[k] = r.cpu[k] === null || concurrent[path].cpu[k] === null ? null : concurrent[path].cpu[k] + r.cpu[k];
}
count(before, await connections());

// (3) The first request to a host never seen: a fresh Agent (new TLS) vs a fresh ProxyAgent (new
// CONNECT, a new leaf in the proxy, new upstream TLS from the proxy), alternating which goes first.
const newHost = { direct: [], proxy: [] };
for (let i = 1; i <= o.newHosts; i++) {
  const host = `new${i}.${o.domain}`;
  for (const path of orders[i % 2]) {
    const agent = path === 'direct' ? directAgent(host) : proxyAgent();
    newHost[path].push(await once(path, agent, host));
    await agent.close();
  }
}

const total = await connections();
await Promise.all(Object.values(agents).map((agent) => agent.close()));
process.stdout.write(JSON.stringify({ startedAt: performance.timeOrigin, first, sequential, concurrent, newHost, tally, connections: { total, opened_while_timed: opened } }) + '\n');
