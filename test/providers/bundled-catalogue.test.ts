// The build writes every bundled definition into one file (scripts/build.mjs), so `list` reads one
// file instead of one per provider (issue 18). It must hold exactly what the folder holds, and the
// registry must read it when it is there and the files when it is not.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUNDLED_DIR, ProviderRegistry } from '../../src/providers/index.ts';
import { BUNDLED_CATALOGUE } from '../../src/providers/registry.ts';
import { CLI } from '../support/cli.ts';
import { cleanupHomes, tempDir } from '../support/homes.ts';

after(cleanupHomes);

const builtFolder = join(dirname(CLI), '..', 'providers', 'bundled');
const definitionsIn = (dir: string) => Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort().map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8'))]));

describe('the bundled catalogue file', () => {
  it('the build writes every bundled definition into it, exactly as the source folder has them', () => {
    const catalogue = JSON.parse(readFileSync(join(builtFolder, BUNDLED_CATALOGUE), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(catalogue, definitionsIn(BUNDLED_DIR));
    assert.deepEqual(Object.keys(catalogue), Object.keys(definitionsIn(builtFolder)));
  });

  it('the registry lists from it when it is there, and from the files when it is not', async () => {
    const folder = join(tempDir(), 'bundled');
    mkdirSync(folder);
    for (const file of ['github.json', 'openai.json']) copyFileSync(join(BUNDLED_DIR, file), join(folder, file));
    const names = async () => (await new ProviderRegistry({ userDir: tempDir(), bundledDir: folder }).all()).entries.map((e) => [e.definition.name, e.path]);
    assert.deepEqual(await names(), [['github', join(folder, 'github.json')], ['openai', join(folder, 'openai.json')]]);

    // A catalogue that says otherwise wins: the registry did not read the files.
    const openai = JSON.parse(readFileSync(join(BUNDLED_DIR, 'openai.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(folder, BUNDLED_CATALOGUE), JSON.stringify({ 'openai.json': { ...openai, display_name: 'From the catalogue' } }));
    const entries = (await new ProviderRegistry({ userDir: tempDir(), bundledDir: folder }).all()).entries;
    assert.deepEqual(entries.map((e) => [e.definition.name, e.definition.display_name, e.source, e.path]), [['openai', 'From the catalogue', 'bundled', join(folder, 'openai.json')]]);
  });
});
