// A strict TypeScript project that imports the built package as npm would install it
// (node_modules/authsome-cli → this checkout, so its "exports" and dist/*.d.ts resolve), compiled
// with the repository's own tsc: strict, skipLibCheck off, nodenext. Returns tsc's status and output.
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, tempDir } from './homes.ts';

export function compileStrict(source: string, options: { lib?: string[]; compilerOptions?: Record<string, unknown> } = {}): { status: number | null; output: string } {
  const dir = tempDir('consumer-');
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'authsome-cli'));
  symlinkSync(join(REPO_ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, skipLibCheck: false, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
      lib: options.lib ?? ['es2022', 'esnext.disposable', 'dom'], types: ['node'], ...options.compilerOptions,
    },
    files: ['consumer.ts'],
  }));
  writeFileSync(join(dir, 'consumer.ts'), source);
  const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  return { status: tsc.status, output: tsc.stdout + tsc.stderr };
}
