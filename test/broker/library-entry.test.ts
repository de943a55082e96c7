// The library as a user installs it: `import { AuthLayer } from 'authsome-cli'` resolves to the built
// package entry (dist/index.js, through package.json's "exports") and is the same class as Authsome.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, cleanupHomes, freshHome } from '../support/homes.ts';

after(cleanupHomes);

describe("import { AuthLayer } from 'authsome-cli'", () => {
  test('is the built entry\'s Authsome under the documented name, and works', async () => {
    // The package's own name resolves to what ships (a self-reference through "exports"), not to src/.
    assert.equal(import.meta.resolve('authsome-cli'), pathToFileURL(join(REPO_ROOT, 'dist', 'index.js')).href);
    const { AuthLayer, Authsome, AuthsomeError } = await import('authsome-cli');
    assert.equal(AuthLayer, Authsome, 'an alias of the same class');

    const layer = new AuthLayer({ home: freshHome(), env: {} });
    try {
      assert.ok(layer instanceof Authsome);
      await layer.init();
      await layer.loginWithApiKey('openai', 'sk-authlayer-000000000000');
      assert.equal(await layer.getSecret('openai'), 'sk-authlayer-000000000000');
      await assert.rejects(layer.getSecret('anthropic'), (e: unknown) => e instanceof AuthsomeError && e.code === 'credential_missing');
    } finally {
      await layer.close();
    }
  });
});
