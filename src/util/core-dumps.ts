// Keeps secrets out of core dumps. A process that crashes with core dumps enabled writes its
// memory to disk — decrypted records, tokens, the master key — where any process of the user, a
// crash reporter or a backup can read it. Node offers no setrlimit(RLIMIT_CORE) and no
// prctl(PR_SET_DUMPABLE); what it can reach on Linux is /proc/self/coredump_filter (core(5)):
// writing 0 there leaves every memory mapping out of a dump, so a core file still appears (the
// size limit is the shell's, `ulimit -c`) but holds registers and file names only, no memory.
// Elsewhere (macOS, Windows) Node offers nothing: set `ulimit -c 0` (or launchd/systemd's limit).
import { readFileSync, writeFileSync } from 'node:fs';

export interface CoreDumpProtection {
  /** Whether this process's memory is now left out of core dumps. */
  applied: boolean;
  /** The filter the process had before (hex, as the kernel prints it), to give children back; null off Linux. */
  previous: string | null;
}

let done: CoreDumpProtection | null = null;

/** Leaves this process's memory out of any core dump (Linux); a no-op elsewhere. Cheap: one small read and write. */
export function excludeMemoryFromCoreDumps(): CoreDumpProtection {
  if (done) return done;
  if (process.platform !== 'linux') return (done = { applied: false, previous: null });
  try {
    const previous = readFileSync('/proc/self/coredump_filter', 'utf8').trim();
    writeFileSync('/proc/self/coredump_filter', '0');
    done = { applied: true, previous };
  } catch {
    // No /proc (a sandbox), or a kernel without the file: nothing more Node can do.
    done = { applied: false, previous: null };
  }
  return done;
}

/**
 * Starts a child (`start` must spawn it synchronously) with the filter this process started with:
 * a program run by `authsome run` holds none of our secrets, and its own crash dumps should stay
 * useful. The kernel copies the filter into a child when it is forked (and keeps it across exec),
 * so ours is given back for the moment of the spawn and taken away again right after.
 */
export function spawnWithCoreDumps<T>(start: () => T): T {
  if (!done?.applied || done.previous === null) return start();
  // The kernel reads a leading 0 as octal; what it printed is hex.
  writeFilter(`0x${done.previous}`);
  try {
    return start();
  } finally {
    writeFilter('0');
  }
}

function writeFilter(value: string): void {
  try {
    writeFileSync('/proc/self/coredump_filter', value);
  } catch {
    // Nothing Node can do about it; the child keeps what it inherits.
  }
}
