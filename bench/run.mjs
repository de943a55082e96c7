// Start-up benchmark for the compiled CLI (dist/). Run with `npm run bench`, which builds first.
//
// Every command is a fresh process, as an agent or a shell script would start it. Each command
// runs a few untimed warm-up rounds, then the commands run round-robin (one of each per round)
// so machine noise falls on all of them alike. We report the median and p90 wall time and the
// ratio to a bare `node -e 0`, which is the floor any Node CLI pays.
//
// Timing goals are reported, never asserted: the exit code is 0 whatever the numbers say.
// It is 1 only when the CLI itself fails (setup or a measured command exits non-zero), because
// then there is nothing meaningful to report.
//
//   node bench/run.mjs [--json] [--runs N] [--warmup N]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const API_KEY = 'sk-bench-0000000000000000';
const PASSPHRASE = 'bench-pass';
const TARGET_RATIO = 1.6;

const args = process.argv.slice(2);
const wantsJson = args.includes('--json');
const runs = intOption('--runs', 25);
const warmup = intOption('--warmup', 3);

function intOption(name, fallback) {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const value = Number.parseInt(args[i + 1] ?? '', 10);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench: ${name} takes a positive whole number`);
    process.exit(2);
  }
  return value;
}

if (!existsSync(CLI)) {
  console.error(`bench: ${CLI} is missing; run \`npm run build\` first (or use \`npm run bench\`, which builds).`);
  process.exit(1);
}

/** The parent's environment without any AUTHSOME_* setting, so the user's real home is never touched. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AUTHSOME_')) env[key] = value;
  return { ...env, NO_COLOR: '1', ...extra };
}

function run(argv, env, input) {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

function mustRun(label, argv, env, input) {
  const result = run(argv, env, input);
  if (result.error || result.status !== 0) {
    throw new Error(`setup step "${label}" failed (exit ${result.status ?? result.signal}): ${(result.error?.message ?? result.stderr).trim()}`);
  }
  return result;
}

const node = process.execPath;
const cli = (...rest) => [node, CLI, ...rest];

const temp = mkdtempSync(join(tmpdir(), 'authsome-bench-'));
const cleanup = () => rmSync(temp, { recursive: true, force: true });
process.on('SIGINT', () => { cleanup(); process.exit(130); });
process.on('SIGTERM', () => { cleanup(); process.exit(143); });

let exitCode = 0;
try {
  // Home 1: the default local_key source.
  const localEnv = cleanEnv({ AUTHSOME_HOME: join(temp, 'local') });
  mustRun('init', cli('init'), localEnv);
  mustRun('login', cli('login', 'openai', '--api-key-stdin'), localEnv, API_KEY);

  // Home 2: the passphrase source (scrypt N=2^17, r=8, p=1, paid once per process).
  const passEnv = cleanEnv({ AUTHSOME_HOME: join(temp, 'passphrase'), AUTHSOME_PASSPHRASE: PASSPHRASE });
  mustRun('init --key-source passphrase', cli('init', '--key-source', 'passphrase'), passEnv);
  mustRun('login (passphrase home)', cli('login', 'openai', '--api-key-stdin'), passEnv, API_KEY);

  const cases = [
    { id: 'baseline', label: 'node -e 0', argv: [node, '-e', '0'], env: cleanEnv(), expect: '' },
    { id: 'get_status', label: 'authsome get openai --field status', argv: cli('get', 'openai', '--field', 'status'), env: localEnv, expect: 'connected\n', target: TARGET_RATIO },
    { id: 'get_secret', label: 'authsome get openai --field api_key --show-secret', argv: cli('get', 'openai', '--field', 'api_key', '--show-secret'), env: localEnv, expect: `${API_KEY}\n`, target: TARGET_RATIO },
    { id: 'help', label: 'authsome --help', argv: cli('--help'), env: localEnv },
    { id: 'list_json', label: 'authsome list --json', argv: cli('list', '--json'), env: localEnv },
    { id: 'get_status_passphrase', label: 'authsome get openai --field status (passphrase)', argv: cli('get', 'openai', '--field', 'status'), env: passEnv, expect: 'connected\n',
      note: 'passphrase key source: pays scrypt (N=2^17, r=8, p=1) once per process' },
  ];

  const check = (c, result) => {
    if (result.error || result.status !== 0) throw new Error(`"${c.label}" failed (exit ${result.status ?? result.signal}): ${(result.error?.message ?? result.stderr).trim()}`);
    if (c.expect !== undefined && result.stdout !== c.expect) throw new Error(`"${c.label}" printed ${JSON.stringify(result.stdout)}, expected ${JSON.stringify(c.expect)}`);
  };

  for (let i = 0; i < warmup; i++) for (const c of cases) check(c, run(c.argv, c.env));

  const samples = new Map(cases.map((c) => [c.id, []]));
  for (let i = 0; i < runs; i++) {
    // Rotate the starting command each round so none always runs right after another.
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length];
      const result = run(c.argv, c.env);
      check(c, result);
      samples.get(c.id).push(result.ms);
    }
  }

  const baseline = median(samples.get('baseline'));
  const results = cases.map((c) => {
    const ms = samples.get(c.id);
    const med = median(ms);
    const ratio = med / baseline;
    return {
      id: c.id,
      command: c.label,
      runs: ms.length,
      median_ms: round(med),
      p90_ms: round(percentile(ms, 90)),
      min_ms: round(Math.min(...ms)),
      ratio: round(ratio, 2),
      target_ratio: c.target ?? null,
      meets_target: c.target ? ratio <= c.target : null,
      ...(c.note ? { note: c.note } : {}),
    };
  });

  const report = {
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: availableParallelism(),
    warmup,
    runs,
    baseline_median_ms: round(baseline),
    results,
  };

  if (wantsJson) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printTable(report);
} catch (error) {
  console.error(`bench: ${error.message}`);
  exitCode = 1;
} finally {
  cleanup();
}
process.exitCode = exitCode;

function printTable(report) {
  console.log(`authsome start-up benchmark: ${report.runs} runs each after ${report.warmup} warm-up rounds, round-robin`);
  console.log(`node ${report.node} on ${report.platform}, ${report.cpus} × ${report.cpu}`);
  console.log('');
  const rows = [['command', 'median ms', 'p90 ms', '× node -e 0', 'target']];
  for (const r of report.results) {
    const target = r.target_ratio === null ? '' : `≤ ${r.target_ratio}× ${r.meets_target ? 'met' : 'MISSED'}`;
    rows.push([r.command, r.median_ms.toFixed(1), r.p90_ms.toFixed(1), `${r.ratio.toFixed(2)}×`, target]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : i === row.length - 1 ? cell : cell.padStart(widths[i]))).join('  ').trimEnd();
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
  console.log('');
  for (const r of report.results) if (r.note) console.log(`* ${r.command}: ${r.note}.`);
  console.log('Timing goals are reported, not asserted.');
}

function median(values) {
  return percentile(values, 50);
}

/** Linear interpolation between closest ranks. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
