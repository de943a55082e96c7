// Whether a process still runs, by its pid (the daemon's, a refresh lease holder's).
import { readFileSync } from 'node:fs';

/**
 * True while pid runs; a process of another user counts (EPERM: it exists). kill(pid, 0) alone also
 * answers for a zombie — a process that has exited and that its parent has not reaped yet — and in
 * a container whose first process does not reap orphans (no init), an exited daemon stays one for
 * good: `daemon stop` waited out its whole deadline for a process that had long finished.
 */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** Linux: the state in /proc/<pid>/stat is Z (zombie) or X (dead). False where there is no /proc. */
export function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X';
}
