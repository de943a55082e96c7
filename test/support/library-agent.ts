// Runs a small program against the built package (dist/index.js, what `import 'authsome-cli'` loads)
// in its own Node process: the library as an agent uses it, with the environment it is given
// (NODE_EXTRA_CA_CERTS for a test upstream's CA, read by Node at start). The program's body runs
// with `authsome` (a new Authsome()) and `headlessLogin` in scope; what it passes to `emit` is one
// JSON line on stdout, and tests can act on a line while the program runs (a device code).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv } from './cli.ts';
import { REPO_ROOT } from './homes.ts';

export interface AgentResult {
  code: number;
  /** Every value the program emitted, in order. */
  emitted: any[];
  stderr: string;
}

export function runAgent(body: string, env: Record<string, string>, onEmit?: (value: any) => void | Promise<void>): Promise<AgentResult> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-'));
  const file = join(dir, 'agent.mjs');
  writeFileSync(file, [
    `import { Authsome, AuthsomeError, headlessLogin } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'index.js'))};`,
    'const emit = (value) => process.stdout.write(JSON.stringify(value) + "\\n");',
    'const authsome = new Authsome();',
    'try {',
    body,
    '} catch (error) {',
    '  emit({ thrown: error instanceof AuthsomeError ? error.toJSON() : String(error) });',
    '} finally {',
    '  await authsome.close();',
    '}',
  ].join('\n'));
  const child = spawn(process.execPath, [file], { env: cleanEnv({ NO_COLOR: '1', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  const emitted: any[] = [];
  let pending = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      const value = JSON.parse(line);
      emitted.push(value);
      void onEmit?.(value);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: code ?? -1, emitted, stderr });
    });
  });
}
