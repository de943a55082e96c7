// Keeps the house in order: rooms import only downward (architecture.md), and only through
// another room's door (its index.ts). util is the ground floor every room may use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from './support/homes.ts';

const SRC = join(REPO_ROOT, 'src');
/** room → rooms it may import (besides itself and util). */
const ALLOWED: Record<string, string[]> = {
  util: [],
  vault: [],
  providers: [],
  audit: [],
  oauth: ['providers'],
  broker: ['vault', 'providers', 'oauth', 'audit'],
  daemon: ['broker'],
  proxy: ['broker'],
  mcp: ['broker'],
  cli: ['broker', 'daemon', 'proxy', 'mcp', 'audit'],
  '(root)': ['broker', 'util'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

function roomOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? '(root)' : parts[0]!;
}

test('rooms import only downward and only through index.ts doors', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const from = roomOf(file);
    for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), match[1]!);
      const to = roomOf(target);
      const where = `${relative(REPO_ROOT, file)} → ${match[1]}`;
      if (to === from) continue;
      if (to !== 'util' && !(ALLOWED[from] ?? []).includes(to)) violations.push(`${where}: ${from} may not import ${to}`);
      if (!target.endsWith('/index.ts') && to !== '(root)') violations.push(`${where}: import ${to} through its index.ts`);
    }
  }
  assert.deepEqual(violations, []);
});

test('no module but the CLI entry awaits at import time', () => {
  for (const file of sourceFiles(SRC)) {
    if (file.endsWith(join('cli', 'main.ts'))) continue;
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /^await /m, `${relative(REPO_ROOT, file)} awaits at import time`);
  }
});
