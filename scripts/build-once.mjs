// Builds dist/ only when it is missing (`npm install` already built it through `prepare`).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)))) {
  const result = spawnSync(process.execPath, [fileURLToPath(new URL('./build.mjs', import.meta.url))], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
