// Starting, finding and stopping a home's daemon. The CLI starts one on demand, reuses a running
// one of its own version on the requested port, and replaces any other. A start reports back over
// an IPC channel — "ready" with its status, or the error that stopped it (a taken port) — so the
// CLI never guesses with sleeps.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, renameSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthsomeError, ensurePrivateDir, isProcessRunning, type Environment } from '../util/index.ts';
import type { DaemonStatus } from './api.ts';
import { DaemonClient } from './client.ts';
import { findOrphan } from './orphan.ts';
import { daemonPaths } from './paths.ts';
import { dirname } from 'node:path';

export interface DaemonTarget {
  home: string;
  /** The port wanted; 0 accepts any (a running daemon's port is then kept). */
  port: number;
  version: string;
  /** The script that runs `authsome daemon serve` (the CLI entry point). */
  entry: string;
  env: Environment;
  log?: (line: string) => void;
}

/** Messages a starting daemon sends its parent. */
export type StartMessage = { ready: DaemonStatus } | { error: { error: string; message: string; hint?: string } };


export function daemonClient(home: string, log?: (line: string) => void): DaemonClient {
  return new DaemonClient(daemonPaths(home).socket, log);
}

/** A daemon for this home that fits: the running one, or a new one. */
export async function ensureDaemon(target: DaemonTarget): Promise<{ status: DaemonStatus; started: boolean }> {
  const client = daemonClient(target.home, target.log);
  const running = await client.status();
  if (running && fits(running, target)) return { status: running, started: false };
  if (running) {
    target.log?.(`replacing daemon ${running.version} on port ${running.port} (want ${target.version} on ${target.port || 'any port'})`);
    await stopRunning(client, running);
  } else {
    await stopOrphan(client, target.home, target.log);
  }
  try {
    return { status: await startDaemon(target), started: true };
  } catch (error) {
    // Two CLIs may start a daemon at once; the loser finds the winner's and uses it.
    const now = await client.status();
    if (now && fits(now, target)) return { status: now, started: false };
    throw error;
  }
}

function fits(status: DaemonStatus, target: DaemonTarget): boolean {
  return status.version === target.version && (target.port === 0 || status.port === target.port);
}

/** Node's option for the daemon's young generation (see startDaemon); MiB per semi-space. */
export const DAEMON_SEMI_SPACE = '--max-semi-space-size=1';

export async function startDaemon(target: DaemonTarget): Promise<DaemonStatus> {
  const { logFile } = daemonPaths(target.home);
  ensurePrivateDir(target.home);
  ensurePrivateDir(dirname(logFile));
  // Rotated before the spawn as well as by the daemon as it writes (the same 1 MiB as audit's
  // appendRotating): the stderr it inherits then starts in a fresh file, not in the one it rotates away.
  if (existsSync(logFile) && statSync(logFile).size > 1024 * 1024) renameSync(logFile, logFile + '.1');
  const fd = openSync(logFile, 'a', 0o600);
  try {
    // The daemon writes its log itself, rotating it as it runs; its stdout and stderr (a crash, Node's own warnings) go to the same file.
    // A small young generation: V8 grows it to 16 MiB per semi-space while the daemon first reads
    // every connection and never gives that back, which left a daemon of 10,000 connections at
    // 140 MB resident for the rest of its life (issue 18; with 1 MiB: under 100 MB). The daemon's
    // work after that first reading is small and bursty, so the extra scavenges cost nothing visible.
    const child = spawn(process.execPath, [DAEMON_SEMI_SPACE, target.entry, 'daemon', 'serve', '--home', target.home, '--log-file', logFile], {
      detached: true,
      stdio: ['ignore', fd, fd, 'ipc'],
      env: { ...target.env, AUTHSOME_PORT: String(target.port) } as NodeJS.ProcessEnv,
    });
    const message = await new Promise<StartMessage>((resolve, reject) => {
      child.once('message', (m) => resolve(m as StartMessage));
      child.once('error', reject);
      child.once('exit', (code) => reject(new AuthsomeError('daemon_unavailable', `the authsome daemon exited while starting (code ${code})`, { hint: `See ${logFile}` })));
    });
    child.removeAllListeners('exit');
    if (child.connected) child.disconnect();
    child.unref();
    if ('error' in message) {
      const code = message.error.error === 'address_in_use' ? 'address_in_use' : 'daemon_unavailable';
      throw new AuthsomeError(code, message.error.message, { hint: message.error.hint });
    }
    return message.ready;
  } finally {
    closeSync(fd);
  }
}

/** Stops the home's daemon — one answering on its socket, or one only daemon.json still knows; null when none was running. */
export async function stopDaemon(home: string): Promise<DaemonStatus | null> {
  const client = daemonClient(home);
  const running = await client.status();
  if (!running) return stopOrphan(client, home);
  await stopRunning(client, running);
  return running;
}

async function stopRunning(client: DaemonClient, running: DaemonStatus): Promise<void> {
  await client.shutdown().catch(() => undefined);
  await awaitExit(running.pid);
}

/**
 * A daemon that no longer answers on the socket (deleted, or never noticed) still holds the port:
 * found through daemon.json and recognised by its title, it is asked to stop with SIGTERM.
 */
async function stopOrphan(client: DaemonClient, home: string, log?: (line: string) => void): Promise<DaemonStatus | null> {
  const orphan = findOrphan(home);
  // A daemon writes daemon.json only once its socket listens: one that answers now was starting, not lost.
  if (!orphan || (await client.status())) return null;
  log?.(`stopping daemon pid ${orphan.pid}, which no longer answers on its socket`);
  try {
    process.kill(orphan.pid, 'SIGTERM');
    // A stopped process (Ctrl-Z, a debugger) acts on SIGTERM only once continued.
    process.kill(orphan.pid, 'SIGCONT');
  } catch {
    return null; // gone meanwhile, or not ours to signal
  }
  await awaitExit(orphan.pid);
  return orphan;
}

async function awaitExit(pid: number): Promise<void> {
  // The daemon finishes a background refresh in flight before it exits (a kill between rotation
  // and the write would lose the grant): wait longer than a refresh can take, then insist.
  const deadline = Date.now() + 60_000;
  while (isProcessRunning(pid) && Date.now() < deadline) await sleep(20);
  if (isProcessRunning(pid)) process.kill(pid, 'SIGKILL');
}
