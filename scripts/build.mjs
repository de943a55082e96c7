// Build: compile src/ with tsc into dist/, copy the bundled provider catalogue, mark the bin executable.
// Runs from `npm install` (prepare), `npm test` and `npm run bench`.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
// Built beside dist/ and swapped in at the end, so CLI processes running meanwhile (a test run
// while someone rebuilds) never find dist/ half written or missing.
const out = join(root, `dist.next-${process.pid}`);
rmSync(out, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', out], { stdio: 'inherit' });
if (result.status !== 0) {
  rmSync(out, { recursive: true, force: true });
  process.exit(result.status ?? 1);
}
const bundled = join(root, 'src/providers/bundled');
if (existsSync(bundled)) {
  mkdirSync(join(out, 'providers'), { recursive: true });
  cpSync(bundled, join(out, 'providers/bundled'), { recursive: true });
  // Every bundled definition in one file, by file name (the registry's BUNDLED_CATALOGUE): `list`
  // reads it instead of one file per provider.
  const catalogue = {};
  for (const file of readdirSync(bundled).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort()) {
    catalogue[file] = JSON.parse(readFileSync(join(bundled, file), 'utf8'));
  }
  writeFileSync(join(out, 'providers/bundled/.catalogue.json'), JSON.stringify(catalogue));
}
// The CLI ships as one bundled file (lazy chunks split off): loading ~40 ESM modules one by one
// costs ~25 ms of every `authsome get`. Native and optional modules stay external.
const esbuild = await import(require.resolve('esbuild'));
await esbuild.build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outdir: join(out, 'cli'),
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
  // Our own modules run no code on import that another module relies on (no import is there for
  // its side effects): marked so, esbuild keeps only the modules a command's imports reach, not
  // every module a door (broker/index.ts) re-exports. `get` then loads no PostgreSQL store, no
  // doctor, no rekey.
  plugins: [{
    // commander reaches for child_process only to spawn a stand-alone executable subcommand, which
    // authsome has none of; loaded eagerly it costs every start-up its module graph (net, dgram,
    // streams). commander gets a stand-in that loads the real module on the first spawn.
    name: 'authsome-lazy-child-process',
    setup(build) {
      build.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'authsome-lazy' } : undefined));
      build.onLoad({ filter: /.*/, namespace: 'authsome-lazy' }, () => ({ loader: 'js', contents: "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) };" }));
    },
  }, {
    name: 'authsome-side-effect-free',
    setup(build) {
      const src = join(root, 'src') + '/';
      build.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.pluginData?.sideEffectFree || !args.importer.startsWith(src)) return undefined;
        const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { sideEffectFree: true } });
        if (resolved.errors.length || !resolved.path.startsWith(src)) return undefined;
        return { path: resolved.path, sideEffects: false };
      });
    },
  }],
  logLevel: 'warning',
  allowOverwrite: true,
  minifyWhitespace: true,
  minifySyntax: true,
});
// esbuild left the code every command runs in dozens of small chunks; one file for what start-up
// loads and one for the command context's closure (see merge-chunks.mjs).
const { mergeChunks } = await import('./merge-chunks.mjs');
try {
  await mergeChunks({ esbuild, dir: join(out, 'cli'), entry: 'main.js', contextPrefix: 'context-' });
} catch (error) {
  rmSync(out, { recursive: true, force: true });
  throw error;
}
const bin = join(out, 'cli/main.js');
if (existsSync(bin)) chmodSync(bin, 0o755);
const dist = join(root, 'dist');
const old = join(root, `dist.old-${process.pid}`);
if (existsSync(dist)) renameSync(dist, old);
renameSync(out, dist);
rmSync(old, { recursive: true, force: true });
