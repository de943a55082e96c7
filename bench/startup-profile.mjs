// Where a fresh process's time goes (run.mjs prints it under the start-up table): each command runs
// once more under V8's sampling profiler (`node --cpu-prof`, 100 µs), and every sample is put in one
// bucket by its stack, so a regression in the ratio names its cause:
//   bootstrap     Node's own start (what `node -e 0` pays) and anything outside the buckets below
//   built-ins     Node's built-in modules loaded on demand (crypto, child_process, net, …)
//   module load   resolving, reading, linking and evaluating our chunks and packages (ESM and CJS)
//   compile       V8 compiling their source (compileSourceTextModule, CJS wrappers)
//   native addon  loading better-sqlite3's (or the keyring's) .node file
//   command       the command's own work: parsing argv, the store, decryption, printing
//   gc            garbage collection
// The profiler's overhead inflates every figure alike; the shares are what to compare.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUCKETS = ['bootstrap', 'built-ins', 'module load', 'compile', 'native addon', 'command', 'gc'];

/** One profiled run of argv (argv[0] is node): milliseconds per bucket. */
export function profileRun(argv, env) {
  const dir = mkdtempSync(join(tmpdir(), 'authsome-prof-'));
  try {
    const result = spawnSync(argv[0], ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, ...argv.slice(1)], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`profiling "${argv.slice(1).join(' ')}" failed (exit ${result.status ?? result.signal}): ${result.stderr.trim()}`);
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`profiling "${argv.slice(1).join(' ')}" wrote no profile`);
    return breakdown(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function breakdown(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const bucketOf = new Map();
  const ms = Object.fromEntries(BUCKETS.map((b) => [b, 0]));
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    let bucket = bucketOf.get(id);
    if (bucket === undefined) bucketOf.set(id, (bucket = classify(stackOf(id, byId, parent))));
    // A sample's time is the gap to the next one.
    if (bucket) ms[bucket] += (profile.timeDeltas[i + 1] ?? 0) / 1000;
  }
  return ms;
}

function stackOf(id, byId, parent) {
  const frames = [];
  for (let at = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at).callFrame);
  return frames; // leaf first
}

const ours = (frame) => /\/dist\/|\/node_modules\//.test(frame.url);

/** The bucket for one stack (leaf first); null for idle time. */
function classify(frames) {
  const leaf = frames[0];
  if (leaf.functionName === '(idle)') return null;
  if (leaf.functionName === '(garbage collector)') return 'gc';
  if (frames.some((f) => f.functionName === 'Module._extensions..node' || f.functionName === 'dlopen' || /\/node_modules\/bindings\//.test(f.url))) return 'native addon';
  if (frames.some((f) => f.functionName === 'compileSourceTextModule' || f.functionName === 'wrapSafe' || f.functionName === 'compileFunction')) return 'compile';
  if (frames.some((f) => f.functionName === 'compileForInternalLoader')) return 'built-ins';
  // The command: anything under main() (its first, synchronous part runs inside the entry's
  // evaluation) or resumed from our code without the module loader on the stack.
  if (frames.some((f) => f.functionName === 'main' && /\/dist\/cli\/main\.js$/.test(f.url))) return 'command';
  if (frames.some((f) => /^node:internal\/modules\//.test(f.url))) return 'module load';
  if (frames.some(ours)) return 'command';
  return 'bootstrap';
}

/** The human-readable section: one row per command, milliseconds per bucket. */
export function printProfileSection(profiles) {
  console.log('');
  console.log('Where the time goes (one run each under `node --cpu-prof`, 100 µs samples; ms per bucket, see bench/startup-profile.mjs)');
  const rows = [['command', ...BUCKETS, 'total']];
  for (const p of profiles) {
    const total = BUCKETS.reduce((sum, b) => sum + p.ms[b], 0);
    rows.push([p.command, ...BUCKETS.map((b) => p.ms[b].toFixed(1)), total.toFixed(1)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(`  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`);
}
