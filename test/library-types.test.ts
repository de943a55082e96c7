// Issue 16, part 4: the package's typings hold for a strict consumer. A project with strict: true,
// skipLibCheck: false and moduleResolution nodenext imports 'authsome-cli' — the built dist/index.d.ts,
// through package.json's exports, as npm would install it — and test/fixtures/library-consumer/agent.ts,
// which names every export and every public method, compiles with the repository's own tsc. A new
// export or method that the consumer does not name fails here, so the file keeps up.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupHomes, REPO_ROOT } from './support/homes.ts';
import { compileStrict } from './support/strict-consumer.ts';

after(cleanupHomes);

const CONSUMER = join(REPO_ROOT, 'test', 'fixtures', 'library-consumer', 'agent.ts');

test('a strict consumer project type-checks against the built typings (skipLibCheck: false, nodenext)', () => {
  // `await using` needs the disposable declarations (no DOM: Node's own types give fetch and Symbol.asyncDispose).
  const tsc = compileStrict(readFileSync(CONSUMER, 'utf8'), {
    lib: ['es2022', 'esnext.disposable'], compilerOptions: { noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true },
  });
  assert.equal(tsc.status, 0, `tsc failed:\n${tsc.output}`);
});

test('the consumer names every export of the package and every public method of Authsome', () => {
  const consumer = readFileSync(CONSUMER, 'utf8');
  const entry = readFileSync(join(REPO_ROOT, 'dist', 'index.d.ts'), 'utf8');
  const exported = [...entry.matchAll(/export (?:type )?\{([^}]+)\}/g)].flatMap((m) => m[1]!.split(',')).map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean);
  exported.push(...[...entry.matchAll(/export (?:declare const|type) (\w+)/g)].map((m) => m[1]!));
  assert.ok(exported.length > 40, `exports found: ${exported.join(', ')}`);
  const unnamed = exported.filter((name) => !new RegExp(`\\b${name}\\b`).test(consumer));
  assert.deepEqual(unnamed, [], 'exports the consumer does not name');
  const declaration = readFileSync(join(REPO_ROOT, 'dist', 'broker', 'authsome.d.ts'), 'utf8');
  const body = declaration.slice(declaration.indexOf('export declare class Authsome'));
  const methods = [...body.matchAll(/^ {4}(?:get )?(\w+)\(/gm)].map((m) => m[1]!).filter((name) => name !== 'constructor');
  assert.ok(methods.includes('fetch') && methods.includes('requestHeaders'), `methods found: ${methods.join(', ')}`);
  const untouched = methods.filter((name) => !new RegExp(`authsome\\.${name}\\b`).test(consumer));
  assert.deepEqual(untouched, [], 'methods the consumer does not call');
  assert.match(body, /\[Symbol\.asyncDispose\]\(\): Promise<void>;/);
  assert.match(consumer, /await using authsome = new Authsome/);
});
