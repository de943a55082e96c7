// Build: compile src/ with tsc into dist/, copy the bundled provider catalogue, mark the bin executable.
// Runs from `npm install` (prepare), `npm test` and `npm run bench`.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.error('build: typescript is not installed; run `npm install` first.');
  process.exit(1);
}
rmSync(join(root, 'dist'), { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
const bundled = join(root, 'src/providers/bundled');
if (existsSync(bundled)) {
  mkdirSync(join(root, 'dist/providers'), { recursive: true });
  cpSync(bundled, join(root, 'dist/providers/bundled'), { recursive: true });
}
const bin = join(root, 'dist/cli/main.js');
if (existsSync(bin)) chmodSync(bin, 0o755);
