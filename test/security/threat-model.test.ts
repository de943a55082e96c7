// The README's threat model names, for each adversary, the tests that prove its defences: every
// file it names exists, and every attack file in test/security/ is named there.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../support/homes.ts';

it('the README\'s threat model names every attack test, and only tests that exist', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('**Threat model.**');
  assert.ok(start !== -1, 'the Security notes open with the threat model');
  const table = readme.slice(start, readme.indexOf('**Not defended**', start));
  const named = new Set<string>();
  for (const row of table.split('\n').filter((line) => line.startsWith('| **'))) {
    const tests = row.split('|').at(-2)!;
    for (const [, name] of tests.matchAll(/`([^`]+)`/g)) {
      const path = name!.startsWith('test/') ? join(REPO_ROOT, name!) : join(REPO_ROOT, 'test', 'security', `${name}.test.ts`);
      assert.ok(existsSync(path), `the threat model names ${name}, which does not exist`);
      named.add(name!);
    }
  }
  const files = readdirSync(join(REPO_ROOT, 'test', 'security')).filter((f) => f.endsWith('.test.ts') && f !== 'threat-model.test.ts');
  const unnamed = files.map((f) => f.replace(/\.test\.ts$/, '')).filter((name) => !named.has(name));
  assert.deepEqual(unnamed, [], 'attack tests the threat model does not name');
});
