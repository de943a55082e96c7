// A daemon nobody can reach over its socket (the socket deleted, a daemon too old or too stuck to
// notice): found through daemon.json's pid, and recognised by its process title before anything
// is signalled, so a pid the system has since given to another program is never touched.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isProcessRunning } from '../util/index.ts';
import type { DaemonStatus } from './api.ts';
import { daemonPaths } from './paths.ts';

/** The title a daemon gives itself (`authsome daemon serve`), naming its home: what `ps` shows. */
export function daemonTitle(home: string): string {
  return `authsome-daemon ${home}`;
}

/** The daemon daemon.json describes, when that process still runs and is this home's daemon. */
export function findOrphan(home: string): DaemonStatus | null {
  let recorded: DaemonStatus;
  try {
    recorded = JSON.parse(readFileSync(daemonPaths(home).pidFile, 'utf8')) as DaemonStatus;
  } catch {
    return null;
  }
  const { pid } = recorded;
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !isProcessRunning(pid)) return null;
  return isDaemonOf(pid, home) ? recorded : null;
}

/**
 * Whether pid runs this home's daemon: its title (set by `daemon serve`), the plain title of a
 * daemon from before titles named the home, or — where titles do not show (macOS `ps`) — the
 * command line `daemon start` launches.
 */
function isDaemonOf(pid: number, home: string): boolean {
  const command = commandLine(pid);
  if (!command) return false;
  return command === daemonTitle(home) || command === 'authsome-daemon' || command.endsWith(` daemon serve --home ${home}`);
}

function commandLine(pid: number): string | null {
  try {
    // Linux: arguments separated by NULs; a retitled process shows its title padded with NULs.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').trim();
  } catch {
    // No /proc (macOS, the BSDs): ask ps.
  }
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}
