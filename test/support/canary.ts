// Canary check: no token the test server issued may appear in a home's text files (logs, audit log, JSON files).
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';

/** The vault's SQLite files (store.db, store.db-wal, store.db-shm): binary, and encrypted anyway. */
const isStoreFile = (path: string) => basename(path).startsWith('store.db');

/** Inside folders only text files are read: *.log (audit.log too), *.json, and anything under a logs/ folder. */
const isTextFile = (path: string) =>
  !isStoreFile(path) && (/\.(log|json)$/.test(path) || dirname(path).split(sep).includes('logs'));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    // Symlinks, sockets (daemon.sock) and pipes are not followed or read.
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile() && isTextFile(path)) files.push(path);
  }
  return files;
}

/**
 * Throws an AssertionError naming the file (and line) and the first 8 characters of the first token found in
 * any of `paths`. A folder is searched recursively (text files only, see isTextFile); a file named directly is
 * read whatever its name, except the vault's store.db* files. Paths that do not exist are skipped (a home that
 * never wrote logs/ has nothing to leak there). Tokens shorter than 8 characters are ignored.
 */
export async function assertNoTokenIn(paths: string[], tokens: string[]): Promise<void> {
  const canaries = [...new Set(tokens)].filter((token) => token.length >= 8);
  if (canaries.length === 0) return;
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const files = info.isDirectory() ? await filesUnder(path) : info.isFile() && !isStoreFile(path) ? [path] : [];
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const token of canaries) {
        const at = text.indexOf(token);
        if (at === -1) continue;
        const line = text.slice(0, at).split('\n').length;
        assert.fail(`token ${token.slice(0, 8)}… found in ${file} (line ${line})`);
      }
    }
  }
}
