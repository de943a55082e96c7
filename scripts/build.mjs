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
// The CLI ships as one bundled file (lazy chunks split off): loading ~40 ESM modules one by one
// costs ~25 ms of every `authsome get`. Native and optional modules stay external.
const esbuild = await import(require.resolve('esbuild'));
await esbuild.build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outdir: join(root, 'dist/cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', '@napi-rs/keyring'],
  // jsonc-parser's default entry is UMD with dynamic requires; its ESM build bundles cleanly.
  mainFields: ['module', 'main'],
  // Chunks sit beside main.js, not in a subfolder: code that finds files relative to its own
  // module (the bundled provider catalogue, ../providers/bundled/) must resolve the same from
  // whichever file esbuild puts it in.
  chunkNames: '[name]-[hash]',
  banner: { js: "import { createRequire as __authsomeRequire } from 'node:module'; const require = __authsomeRequire(import.meta.url);" },
  logLevel: 'warning',
  allowOverwrite: true,
});
const bin = join(root, 'dist/cli/main.js');
if (existsSync(bin)) chmodSync(bin, 0o755);
