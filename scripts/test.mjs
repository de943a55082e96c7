// Runs every *.test.ts under test/ with node:test through tsx (Node 20 does not expand globs itself).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const find = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : find(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
const only = process.argv.slice(2);
const files = (only.length ? only : find(join(root, 'test'))).sort();
if (files.length === 0) {
  console.error('no test files found under test/');
  process.exit(1);
}
// Files run side by side (each test file uses its own temporary homes and ephemeral ports); most
// of their time is spent waiting on child processes, so two at a time keep a 2-core machine busy without starving the tests that time a refresh.
const concurrency = process.env.AUTHSOME_TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
