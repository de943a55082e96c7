// Test homes: a private copy of the Python fixture store, or an empty folder, removed after the test.
import { cpSync, mkdtempSync, rmSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** A copy of shared/fixtures/python-authsome-0.2.3 (a real store written by the Python authsome), so a clone tests on its own. */
export const FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixtures', 'python-authsome-0.2.3');
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
  // Version control keeps no modes; give the copy the modes a real store has (folders 0700, files 0600).
  const visit = (path: string) => {
    if (statSync(path).isDirectory()) {
      chmodSync(path, 0o700);
      for (const name of readdirSync(path)) visit(join(path, name));
    } else chmodSync(path, 0o600);
  };
  visit(home);
  return home;
}

/** A path for a home that does not exist yet. */
export function freshHome(): string {
  return join(tempDir(), 'home');
}

export function cleanupHomes(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Folders 0755 and files 0644 under dir: a home every user can read (and only its owner write). */
export function openToEveryone(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) openToEveryone(path);
    else chmodSync(path, 0o644);
  }
}
