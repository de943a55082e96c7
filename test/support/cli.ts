// Runs the built CLI (dist/, what ships) as a separate process, asynchronously.
import { spawn } from 'node:child_process';
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
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv as string[], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
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
