// `doctor --proxy`: each client runtime, started the way `run` starts a child, reaches a routed
// host through the proxy, trusts the run's CA, arrives with the credential, and refuses a
// certificate that CA signed for a host outside its name constraints.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freshHome } from '../support/homes.ts';
import { runCliJson } from '../support/cli.ts';

interface Probe { runtime: string; outcome: string; detail: string }

describe('doctor --proxy', () => {
  it('reports every runtime working through the proxy', async () => {
    const home = freshHome();
    const { code, json } = await runCliJson<{ proxy: Probe[]; healthy: boolean }>(['doctor', '--proxy'], { home });
    assert.deepEqual(json.proxy.map((p) => p.runtime), ['curl', 'python requests', 'python urllib', 'node fetch', 'node https', 'git']);
    for (const probe of json.proxy) {
      assert.equal(probe.outcome, 'ok', `${probe.runtime}: ${probe.detail}`);
      assert.match(probe.detail, /refused a certificate for a host outside the CA's names/, probe.runtime);
    }
    assert.equal(json.healthy, true);
    assert.equal(code, 0);
  });

  it('a client that ignores name constraints is reported: under run it would trust the CA for any host', async () => {
    // A curl that verifies nothing (-k) stands in for a TLS library that skips name constraints.
    const bin = mkdtempSync(join(tmpdir(), 'lax-curl-'));
    try {
      writeFileSync(join(bin, 'curl'), '#!/bin/sh\nexec /usr/bin/curl -k "$@"\n');
      chmodSync(join(bin, 'curl'), 0o755);
      const home = freshHome();
      const { json } = await runCliJson<{ proxy: Probe[]; healthy: boolean }>(['doctor', '--proxy'], { home, env: { PATH: `${bin}:${process.env.PATH}` } });
      const curl = json.proxy.find((p) => p.runtime === 'curl')!;
      assert.equal(curl.outcome, 'failed');
      assert.match(curl.detail, /trusted a certificate the run's CA signed for foreign\.authsome\.invalid, a host outside its name constraints/);
      assert.equal(json.healthy, false);
      for (const probe of json.proxy.filter((p) => p.runtime !== 'curl')) assert.equal(probe.outcome, 'ok', `${probe.runtime}: ${probe.detail}`);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
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
