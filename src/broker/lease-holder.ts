// Who holds a refresh lease, in words another process on the same machine can check: the host,
// the process id and the process's start time (refresh-protocol.md step 3). A lease whose holder
// has died — its pid gone, a zombie, or the pid reused by a process that started at another
// time — is freed at once instead of after its TTL; a holder that is alive but stopped (Ctrl-Z,
// a closed laptop lid, a debugger) keeps its lease until the TTL, never less.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { isProcessRunning } from '../util/index.ts';

interface ProcessIdentity {
  host: string;
  /** The kernel boot and PID namespace: pids only compare between processes that share both. */
  scope: string;
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); '-' where there is no /proc. */
  start: string;
}

let self: ProcessIdentity | undefined;

function selfIdentity(): ProcessIdentity {
  self ??= { host: hostname(), scope: machineScope(), pid: process.pid, start: startTicks(process.pid) ?? '-' };
  return self;
}

/**
 * A fresh holder string for one attempt: `host:scope:pid:start:nonce`. The nonce tells two
 * attempts of one process apart; the rest lets a waiter on this machine see whether we are alive.
 */
export function newLeaseHolder(): string {
  const { host, scope, pid, start } = selfIdentity();
  return `${host}:${scope}:${pid}:${start}:${randomUUID().slice(0, 8)}`;
}

/**
 * True only when the holder is certainly gone: it ran on this machine (same host, boot and PID
 * namespace) and its process no longer exists, is a zombie, or is another process that reuses
 * the pid. A holder on another machine, in another container, or in a format we do not know is
 * never declared dead: its lease runs out by its TTL.
 */
export function isLeaseHolderGone(holder: string): boolean {
  const parts = holder.split(':');
  if (parts.length !== 5) return false;
  const [host, scope, pidText, start] = parts as [string, string, string, string];
  const me = selfIdentity();
  if (host !== me.host || scope !== me.scope) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === me.pid) return start !== me.start;
  const now = startTicks(pid);
  if (now === 'gone') return true;
  if (now === null) return !isProcessRunning(pid); // no /proc here: the pid alone
  return start !== '-' && now !== start;
}

/** Start time of pid in clock ticks since boot; 'gone' for a process that is not running (or a zombie); null without /proc. */
function startTicks(pid: number): string | 'gone' | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return procAvailable() ? 'gone' : null;
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return 'gone';
  return fields[19] ?? null; // field 22 overall; fields[0] is field 3
}

function procAvailable(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/**
 * The boot id and PID namespace, hashed short: two containers may share a hostname, and pids of
 * one namespace mean nothing in another. '-' without /proc (macOS): there the pid alone is asked.
 */
function machineScope(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const namespace = readlinkSync('/proc/self/ns/pid');
    return createHash('sha256').update(`${boot}\0${namespace}`).digest('hex').slice(0, 12);
  } catch {
    return '-';
  }
}
