// `doctor --proxy`: each client runtime, started the way `run` starts a child, reaches a routed
// host through the proxy, trusts the CA, and arrives with the credential.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freshHome } from '../support/homes.ts';
import { runCliJson } from '../support/cli.ts';

interface Probe { runtime: string; outcome: string; detail: string }

describe('doctor --proxy', () => {
  it('reports every runtime working through the proxy', async () => {
    const home = freshHome();
    const { code, json } = await runCliJson<{ proxy: Probe[]; healthy: boolean }>(['doctor', '--proxy'], { home });
    assert.deepEqual(json.proxy.map((p) => p.runtime), ['curl', 'python requests', 'python urllib', 'node fetch', 'node https', 'git']);
    for (const probe of json.proxy) assert.equal(probe.outcome, 'ok', `${probe.runtime}: ${probe.detail}`);
    assert.equal(json.healthy, true);
    assert.equal(code, 0);
  });

  it('says which runtime is missing rather than failing on it', async () => {
    const home = freshHome();
    // Only node is reachable: PATH holds nothing, and node is started by its absolute path.
    const { code, json } = await runCliJson<{ proxy: Probe[]; healthy: boolean }>(['doctor', '--proxy'], { home, env: { PATH: '/nonexistent' } });
    assert.deepEqual(json.proxy.filter((p) => p.outcome === 'not_installed').map((p) => p.runtime), ['curl', 'python requests', 'python urllib', 'git']);
    assert.deepEqual(json.proxy.filter((p) => p.outcome === 'ok').map((p) => p.runtime), ['node fetch', 'node https']);
    assert.equal(code, 0);
  });
});
