// What the benchmark's parts share: the compiled CLI, a clean environment, timed fresh-process
// runs (one at a time, or many at once), the repo's TypeScript helpers, and the statistics (median
// and percentiles by linear interpolation between closest ranks).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
export const node = process.execPath;
export const cli = (...rest) => [node, CLI, ...rest];

/** Node arguments running a TypeScript file of the repo; tsx as a path, not a URL ($BROWSER is split on ':'). */
export function tsx(script) {
  try {
    return ['--import', fileURLToPath(import.meta.resolve('tsx')), join(REPO, script)];
  } catch {
    throw new Error('the refresh and store benchmarks need the dev dependencies (tsx, oidc-provider): run `npm install`');
  }
}

/** The parent's environment without any AUTHSOME_* setting, so the user's real home is never touched. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AUTHSOME_')) env[key] = value;
  return { ...env, NO_COLOR: '1', ...extra };
}

export function run(argv, env, input) {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/**
 * run() without waiting: a child of this process, so many can run at once. It is in `children`
 * while it runs (for shutdown to kill) and is killed after `limitMs`; never rejects.
 */
export function runAsync(argv, env, children, limitMs) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: limitMs, killSignal: 'SIGKILL' });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const done = (status, signal, error) => {
      children.delete(child);
      resolve({ ms: msSince(start), status, signal, stdout, stderr, error });
    };
    child.once('error', (error) => done(null, null, error));
    child.once('close', (status, signal) => done(status, signal));
  });
}

export function mustRun(label, argv, env, input) {
  const result = run(argv, env, input);
  if (result.error || result.status !== 0) {
    throw new Error(`setup step "${label}" failed (exit ${result.status ?? result.signal}): ${(result.error?.message ?? result.stderr).trim()}`);
  }
  return result;
}

/** Nanoseconds since `start` (a process.hrtime.bigint()), in milliseconds. */
export function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(values) {
  return percentile(values, 50);
}

/** Linear interpolation between closest ranks. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
