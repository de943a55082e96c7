// File-system helpers that keep the home private: folders 0700, files 0600, writes atomic
// (temp file + fsync + rename), and permission failures reported as one clear error.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync, chmodSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AuthsomeError } from './errors.ts';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

export function isNotWritable(error: unknown): boolean {
  return NOT_WRITABLE.has((error as NodeJS.ErrnoException)?.code ?? '');
}

export function notWritableError(path: string, error: unknown): AuthsomeError {
  const code = (error as NodeJS.ErrnoException)?.code ?? 'error';
  return new AuthsomeError('home_not_writable', `cannot write ${path} (${code}); nothing was changed`, {
    hint: 'Check the folder\'s owner and permissions, or point AUTHSOME_HOME at a writable folder.',
    cause: error,
  });
}

/** Creates a folder (and parents) with mode 0700; tightens an existing one we own. */
export function ensurePrivateDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: DIR_MODE });
    const mode = statSync(path).mode & 0o777;
    if (mode !== DIR_MODE) chmodSync(path, DIR_MODE);
  } catch (error) {
    if (isNotWritable(error)) throw notWritableError(path, error);
    throw error;
  }
}

/** Writes a file atomically with mode 0600: readers see the old or the new content, never half. */
export function writePrivateFile(path: string, content: string | Uint8Array, mode = FILE_MODE): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', mode);
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    if (isNotWritable(error)) throw notWritableError(path, error);
    throw error;
  }
}

export function fileMode(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}
