// Many processes released at one moment: every process is spawned first and waits for a line on
// stdin, then all get it at once. The refresh tests' way to make callers meet at expiry.
import { spawn } from 'node:child_process';
import { CLI, cleanEnv, collectOutput, type CliResult } from './cli.ts';

export interface Contender {
  /** Node's arguments (the script must wait for a line on stdin before it starts: see cliOnSignal). */
  argv: string[];
  env: Record<string, string>;
  /** What the process reads on stdin after the release line (an API key for --api-key-stdin). */
  input?: string;
}

/**
 * Node arguments that run the CLI with args once a line arrives on stdin. Whatever follows that
 * line is put back on stdin, so the CLI reads it as its own input.
 */
export function cliOnSignal(args: string[]): string[] {
  const gate = `process.stdin.once('data', (chunk) => {
    process.stdin.pause();
    const rest = chunk.subarray(chunk.indexOf(10) + 1);
    if (rest.length) process.stdin.unshift(rest);
    import(${JSON.stringify(CLI)});
  })`;
  return ['-e', gate, 'authsome', ...args];
}

export function together(contenders: Contender[]): Promise<CliResult[]> {
  const children = contenders.map(({ argv, env }) => {
    const child = spawn(process.execPath, argv, { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    return { child, done: collectOutput(child) as Promise<CliResult> };
  });
  children.forEach(({ child }, i) => child.stdin.end(`go\n${contenders[i]!.input ?? ''}`));
  return Promise.all(children.map((c) => c.done));
}
