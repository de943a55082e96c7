// Runs the built CLI (dist/, what ships) as a separate process, asynchronously.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './homes.ts';

export const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  home?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** Run as another user (e.g. "nobody") through runuser; tests run as root. */
  user?: string;
}

/** A clean environment: no AUTHSOME_* leaking in from the developer's shell. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('AUTHSOME_')) env[key] = value;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = cleanEnv({ NO_COLOR: '1', ...(options.home ? { AUTHSOME_HOME: options.home } : {}), ...options.env });
  const [command, argv] = options.user
    ? ['runuser', ['-u', options.user, '--', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  const child = spawn(command, argv as string[], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(options.input ?? '');
  return collectOutput(child);
}

/** What a finished process printed, and how it ended (code -1 when a signal ended it). */
export interface ProcessOutput extends CliResult {
  signal: NodeJS.Signals | null;
}

/** Collects a spawned process's piped stdout and stderr until it closes. */
export function collectOutput(child: ChildProcess): Promise<ProcessOutput> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
}

export async function runCliJson<T = unknown>(args: string[], options: CliOptions = {}): Promise<{ code: number; json: T; stderr: string }> {
  const result = await runCli([...args, '--json'], options);
  try {
    return { code: result.code, json: JSON.parse(result.stdout) as T, stderr: result.stderr };
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** `--json` output in JSON Lines (`log --json`): one object per line, each parsed on its own. */
export async function runCliJsonLines<T = Record<string, unknown>>(args: string[], options: CliOptions = {}): Promise<{ code: number; lines: T[]; stderr: string }> {
  const result = await runCli([...args, '--json'], options);
  try {
    const lines = result.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as T);
    return { code: result.code, lines, stderr: result.stderr };
  } catch {
    throw new Error(`not JSON Lines (exit ${result.code}): ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

export interface RunningCli {
  /** Resolves with the first match of `pattern` in stderr (URLs, user codes), waiting as output arrives. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
  readonly done: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts the CLI and lets a test act on what it prints before it exits (a login URL, a code). */
export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const env = cleanEnv({ NO_COLOR: '1', ...(options.home ? { AUTHSOME_HOME: options.home } : {}), ...options.env });
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }> = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      const match = stderr.match(waiter.pattern);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    check();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`CLI exited (${code}) before printing ${waiter.pattern}\nstdout: ${stdout}\nstderr: ${stderr}`));
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  child.stdin.end(options.input ?? '');
  return {
    waitForStderr: (pattern) => new Promise((resolve, reject) => {
      waiters.push({ pattern, resolve, reject });
      check();
    }),
    done,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}
