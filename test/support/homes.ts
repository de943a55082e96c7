// Test homes: a private copy of the Python fixture store, or an empty folder, removed after the test.
import { cpSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** shared/ sits beside the checkout, in development and in CI. */
export const FIXTURE_DIR = join(REPO_ROOT, '..', 'shared', 'fixtures', 'python-authsome-0.2.3');
export const FIXTURE_HOME = join(FIXTURE_DIR, 'home');
export const FIXTURE_KEY = 'x1Rh7lFZnsBgcPCGDg87/XhpjSI9lJBccxHuiVHU8eQ=';

const made: string[] = [];

export function tempDir(prefix = 'authsome-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A copy of the fixture home (never open the fixture in place: WAL files and writes would change it). */
export function fixtureHome(): string {
  const home = join(tempDir(), 'home');
  cpSync(FIXTURE_HOME, home, { recursive: true });
  // Version control keeps no modes; give the copy the modes a real store has.
  chmodSync(home, 0o700);
  return home;
}

/** A path for a home that does not exist yet. */
export function freshHome(): string {
  return join(tempDir(), 'home');
}

export function cleanupHomes(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
