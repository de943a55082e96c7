// A real, small filesystem for tests that need a full disk: a tmpfs of a few MiB mounted on a
// temp folder (tests run as root), filled to its last byte on demand and freed again. Mounting
// fails → a thrown error, never a skip.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  /** The mount point (mode 0700). */
  dir: string;
  /** Writes a filler file until the filesystem refuses even one more byte (ENOSPC). */
  fill(): void;
  /** Removes the filler: the space is back. */
  free(): void;
  unmount(): void;
}

export function mountSmallDisk(sizeMiB = 16): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'authsome-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmdirSync(dir);
    throw new Error(`small disk: mount -t tmpfs failed (tests need root): ${(error as { stderr?: Buffer }).stderr?.toString().trim() ?? error}`);
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      try {
        for (const chunk of [1 << 20, 1 << 12, 1]) {
          const bytes = Buffer.alloc(chunk, 0x66);
          try {
            for (;;) writeSync(fd, bytes);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmdirSync(dir);
    },
  };
}

/**
 * Pads a file with blank lines up to a whole page, so that the next append needs a page the full
 * disk does not have (tmpfs allocates by the page; the audit log's reader skips blank lines).
 */
export function padToPage(path: string, page = 4096): void {
  const size = statSync(path).size;
  const missing = (page - (size % page)) % page;
  if (missing === 0) return;
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, Buffer.alloc(missing, '\n'));
  } finally {
    closeSync(fd);
  }
}
