// The MCP bridge, measured (issue 16): the SDK's own Client calling a tool on the SDK's own
// McpServer over Streamable HTTP, directly (with the token in a header) and through
// `authsome mcp connect` (stdio → the bridge → the same server), same machine, same payloads.
// Run by `npm run bench` (part "mcp"), or alone:
//   node --import tsx bench/mcp.ts [--requests N] [--concurrency C] [--json]
// - sequential: N `tools/call echo` one after another per pass, passes alternating direct, bridge,
//   bridge, direct after a warm-up pass each way: median and p99 latency, calls per second, and
//   the bridge's added median latency (goal ≤ 1 ms);
// - concurrent: C calls in flight at once, N in all per pass, the same alternation: calls per second.
// The server runs in a process of its own (bench/mcp-server.ts) and checks every token with the
// authorization server once (then remembers it), so both ways pay the same. Figures, never asserted.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startAuthServer } from '../test/support/auth-server.ts';
import { CLI, cleanEnv, runCli } from '../test/support/cli.ts';
import { oauthHome } from '../test/support/oauth-home.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const requests = option('--requests', 1000);
const concurrency = option('--concurrency', 8);
const json = args.includes('--json');
const PAYLOAD = 'x'.repeat(256);

const as = await startAuthServer({ loopbackResources: true });
// The server in a process of its own: the direct client must not share its event loop.
const serverProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./mcp-server.ts', import.meta.url)), as.issuer], { stdio: ['pipe', 'pipe', 'inherit'] });
const server = await new Promise<{ url: string }>((resolve, reject) => {
  createInterface({ input: serverProcess.stdout }).once('line', (line) => resolve(JSON.parse(line) as { url: string }));
  serverProcess.once('exit', (code) => reject(new Error(`the MCP server exited (${code})`)));
});
const h = await oauthHome();
const clients: Client[] = [];
try {
  const login = await runCli(['login', server.url], { env: h.env });
  if (login.code !== 0) throw new Error(`login failed: ${login.stderr}`);
  await runCli(['daemon', 'stop'], { env: h.env });
  const provider = `127.0.0.1-${new URL(server.url).port}`;
  const token = (await runCli(['get', provider, '--field', 'access_token', '--show-secret'], { env: h.env })).stdout.trim();

  const direct = new Client({ name: 'bench-direct', version: '1' });
  await direct.connect(new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  const bridged = new Client({ name: 'bench-bridge', version: '1' });
  await bridged.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', 'connect', server.url], env: cleanEnv({ NO_COLOR: '1', ...h.env}), stderr: 'inherit' }));
  clients.push(direct, bridged);

  const call = async (client: Client) => {
    const result = await client.callTool({ name: 'echo', arguments: { text: PAYLOAD } });
    if ((result as { content: Array<{ text: string }> }).content[0]?.text !== PAYLOAD) throw new Error('the echo came back different');
  };
  const sequential = async (client: Client) => {
    const ms: number[] = [];
    const start = performance.now();
    for (let i = 0; i < requests; i++) {
      const t = performance.now();
      await call(client);
      ms.push(performance.now() - t);
    }
    return { ms, perSecond: requests / ((performance.now() - start) / 1000) };
  };
  const concurrent = async (client: Client) => {
    let next = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next++ < requests) await call(client);
    }));
    return requests / ((performance.now() - start) / 1000);
  };

  await sequential(direct);
  await sequential(bridged);
  const seq = { direct: [] as number[], bridge: [] as number[], directRate: [] as number[], bridgeRate: [] as number[] };
  for (const [which, client] of [['direct', direct], ['bridge', bridged], ['bridge', bridged], ['direct', direct]] as const) {
    const { ms, perSecond } = await sequential(client);
    seq[which].push(...ms);
    seq[which === 'direct' ? 'directRate' : 'bridgeRate'].push(perSecond);
  }
  await concurrent(direct);
  await concurrent(bridged);
  const con = { direct: [] as number[], bridge: [] as number[] };
  for (const [which, client] of [['direct', direct], ['bridge', bridged], ['bridge', bridged], ['direct', direct]] as const) con[which].push(await concurrent(client));

  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    return sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))]!;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const r = (value: number, digits = 3) => Number(value.toFixed(digits));
  const report = {
    requests_per_pass: requests,
    payload_bytes: PAYLOAD.length,
    sequential: {
      direct: { median_ms: r(median(seq.direct)), p99_ms: r(p99(seq.direct)), calls_per_s: r(mean(seq.directRate), 0) },
      bridge: { median_ms: r(median(seq.bridge)), p99_ms: r(p99(seq.bridge)), calls_per_s: r(mean(seq.bridgeRate), 0) },
      added_median_ms: r(median(seq.bridge) - median(seq.direct)),
      goal_added_median_ms: 1,
      meets_goal: median(seq.bridge) - median(seq.direct) <= 1,
      throughput_ratio: r(mean(seq.bridgeRate) / mean(seq.directRate), 2),
    },
    concurrent: {
      in_flight: concurrency,
      direct_calls_per_s: r(mean(con.direct), 0),
      bridge_calls_per_s: r(mean(con.bridge), 0),
      throughput_ratio: r(mean(con.bridge) / mean(con.direct), 2),
    },
  };
  if (json) process.stdout.write(JSON.stringify(report) + '\n');
  else console.log(JSON.stringify(report, null, 2));
} finally {
  for (const client of clients) await client.close().catch(() => undefined);
  await h.cleanup();
  serverProcess.stdin.end();
  await as.close();
}
