// Runs every *.test.ts under test/ with node:test through tsx (Node 20 does not expand globs itself).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// The longest files start first, so the last minutes are not one long file running alone (the
// durations of the last full run that recorded them; a file with none yet counts as longest).
const DURATIONS = join(root, 'test', 'durations.json');
const durations = existsSync(DURATIONS) ? JSON.parse(readFileSync(DURATIONS, 'utf8')) : {};
const files = (only.length ? only : find(join(root, 'test'))).sort().sort((a, b) => (durations[b] ?? Infinity) - (durations[a] ?? Infinity));
if (files.length === 0) {
  console.error('no test files found under test/');
  process.exit(1);
}
// Files run side by side (each test file uses its own temporary homes and ephemeral ports); most
// of their time is spent waiting on child processes, so two at a time keep a 2-core machine busy without starving the tests that time a refresh.
const concurrency = process.env.AUTHSOME_TEST_CONCURRENCY ?? '2';
// AUTHSOME_RECORD_TEST_DURATIONS=1 on a full run rewrites test/durations.json from it.
const record = process.env.AUTHSOME_RECORD_TEST_DURATIONS === '1' && only.length === 0;
const scratch = record ? mkdtempSync(join(tmpdir(), 'authsome-test-durations-')) : null;
const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout'];
if (scratch) reporters.push(`--test-reporter=${join(root, 'scripts', 'test-durations.mjs')}`, `--test-reporter-destination=${join(scratch, 'durations.json')}`);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...reporters, ...files], { cwd: root, stdio: 'inherit' });
if (scratch) {
  const measured = JSON.parse(readFileSync(join(scratch, 'durations.json'), 'utf8'));
  const rounded = Object.fromEntries(Object.keys(measured).sort().map((file) => [file, Math.round(measured[file] / 100) / 10]));
  writeFileSync(DURATIONS, JSON.stringify(rounded, null, 2) + '\n');
  rmSync(scratch, { recursive: true, force: true });
  console.log(`recorded the duration of ${Object.keys(rounded).length} files in test/durations.json`);
}
process.exit(result.status ?? 1);
