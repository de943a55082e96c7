// File-system helpers that keep the home private: folders 0700, files 0600, writes atomic
// (temp file + fsync + rename), first writes exclusive (temp file + link), and failures to
// write reported as one clear error that names the path and the cause.
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, statSync, statfsSync, writeSync, chmodSync, accessSync, constants } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AuthsomeError } from './errors.ts';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Why a write can fail that no retry fixes: permissions, a read-only mount, a full disk or quota. */
const NOT_WRITABLE: Record<string, { reason: string; hint: string }> = {
  EACCES: { reason: 'permission denied', hint: 'Check the folder\'s owner and permissions, or point AUTHSOME_HOME at a writable folder.' },
  EPERM: { reason: 'operation not permitted', hint: 'Check the folder\'s owner and permissions, or point AUTHSOME_HOME at a writable folder.' },
  EROFS: { reason: 'read-only file system', hint: 'The home is on a read-only mount: reads work, but logins and refreshes need a writable AUTHSOME_HOME.' },
  ENOSPC: { reason: 'no space left on the device', hint: 'Free some space on the disk that holds the home, then try again; reads still work meanwhile.' },
  EDQUOT: { reason: 'disk quota exceeded', hint: 'Free some space (or raise the quota), then try again; reads still work meanwhile.' },
};

/** The errno-style cause of a failed write: the error's own code, or SQLite's translated (SQLITE_FULL is ENOSPC). */
export function writeFailureCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  if (code === 'SQLITE_FULL') return 'ENOSPC';
  return code || 'error';
}

export function isNotWritable(error: unknown): boolean {
  return writeFailureCode(error) in NOT_WRITABLE;
}

export function notWritableError(path: string, error: unknown): AuthsomeError {
  const code = writeFailureCode(error);
  const known = NOT_WRITABLE[code];
  return new AuthsomeError('home_not_writable', `cannot write ${path} (${code})${known ? `: ${known.reason}` : ''}; nothing was changed`, {
    hint: known?.hint ?? NOT_WRITABLE['EACCES']!.hint,
    cause: error,
  });
}

/** Why this process cannot write in dir — EACCES or EROFS, or ENOSPC for a full disk — or null when it can. */
export function writeProblem(dir: string): NodeJS.ErrnoException | null {
  try {
    accessSync(dir, constants.W_OK);
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  try {
    if (statfsSync(dir).bavail === 0) return Object.assign(new Error(`ENOSPC: no space left on device, ${dir}`), { code: 'ENOSPC' });
  } catch {
    // No statfs here: nothing more to tell.
  }
  return null;
}

/** Creates a folder (and parents) with mode 0700; tightens an existing one we own. */
export function ensurePrivateDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: DIR_MODE });
    const { mode, uid } = statSync(path);
    // Another user's folder is theirs to tighten (chmod would fail with EPERM): a write in it says what is wrong.
    if ((mode & 0o777) !== DIR_MODE && (!process.getuid || uid === process.getuid())) chmodSync(path, DIR_MODE);
  } catch (error) {
    if (isNotWritable(error)) throw notWritableError(path, error);
    throw error;
  }
}

/** Writes a file atomically with mode 0600: readers see the old or the new content, never half. */
export function writePrivateFile(path: string, content: string | Uint8Array, mode = FILE_MODE): void {
  const temp = writeTempFile(path, content, mode);
  try {
    renameSync(temp, path);
    syncDirectory(dirname(path));
  } catch (error) {
    rmSync(temp, { force: true });
    if (isNotWritable(error)) throw notWritableError(path, error);
    throw error;
  }
}

/**
 * Creates a file only if nothing is at path yet, whole or not at all: the content is written and
 * synced to a temp file, which is then hard-linked into place (link fails with EEXIST when another
 * process got there first). Returns false when the file already existed: the caller reads that one.
 */
export function createPrivateFile(path: string, content: string | Uint8Array, mode = FILE_MODE): boolean {
  const temp = writeTempFile(path, content, mode);
  try {
    linkSync(temp, path);
    syncDirectory(dirname(path));
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // File systems without hard links: O_EXCL still makes one winner (a reader may meet it half written).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') return createExclusively(path, content, mode);
    if (isNotWritable(error)) throw notWritableError(path, error);
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

function createExclusively(path: string, content: string | Uint8Array, mode: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    if (isNotWritable(error)) throw notWritableError(path, error);
    throw error;
  }
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncDirectory(dirname(path));
  return true;
}

function writeTempFile(path: string, content: string | Uint8Array, mode: number): string {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', mode);
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fsyncSync(fd);
    closeSync(fd);
    return temp;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    if (isNotWritable(error)) throw notWritableError(path, error);
    throw error;
  }
}

/** Makes a rename or link in dir durable; best effort where folders cannot be opened (Windows). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform lets a folder be fsynced; the entry is still in place.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function fileMode(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}
