// The heart of the refresh protocol, proven against a server with rotating, reuse-detecting
// refresh tokens (oidc-provider): many processes asking for one due token at the same moment
// cause exactly one refresh, all get the same new token, and the grant stays alive.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { cliOnSignal, together } from '../support/together.ts';

const REFRESH = 'refresh_token';
const LIBRARY_WORKER = fileURLToPath(new URL('./refresh-worker.ts', import.meta.url));

let as: AuthServer;
let h: OAuthHome;

before(async () => {
  as = await startAuthServer({ accessTokenTtl: 3600 });
  h = await oauthHome();
  await h.register(testProvider(as));
  const login = await runCli(['login', 'testas'], { env: h.env });
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  // Canary: no token the server ever issued appears in any log or audit file of the home.
  await assertNoTokenIn([join(h.home, 'audit.log'), join(h.home, 'logs')], await as.issuedTokens());
  await h?.cleanup();
  await as?.close();
});

const token = async (field = 'access_token') => (await runCli(['get', 'testas', '--field', field, '--show-secret'], { env: h.env })).stdout.trim();

/** A later refresh still works: the grant was not revoked by a reused refresh token. */
async function assertGrantAlive(): Promise<void> {
  const forced = await runCliJson<{ refreshed: boolean }>(['refresh', 'testas'], { env: h.env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.json.refreshed, true);
  assert.equal(await as.isActive(await token()), true);
}

describe('refresh under concurrency', () => {
  it('20 processes at expiry: one refresh, one new token for all, the grant alive', async () => {
    const before = await token();
    const rtBefore = await token('refresh_token');
    await makeDue(h.home, 'testas');
    await as.resetCounts();
    // `get` reads stdin only for --api-key-stdin; the shell wrapper waits for the shared start line.
    const results = await together(Array.from({ length: 20 }, () => ({ argv: cliOnSignal(['get', 'testas', '--field', 'access_token', '--show-secret']), env: h.env })));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const printed = new Set(results.map((r) => r.stdout.trim()));
    assert.equal(printed.size, 1, `every process printed the same token (got ${printed.size})`);
    const [fresh] = printed;
    assert.notEqual(fresh, before);
    assert.equal((await as.counts()).token[REFRESH], 1, 'exactly one refresh reached the token endpoint');
    assert.notEqual(await token('refresh_token'), rtBefore, 'the rotated refresh token was stored');
    assert.equal(await as.isActive(fresh!), true);
    await assertGrantAlive();
  });

  it('4 processes × 50 library calls: one refresh, one token for all 200 calls', async () => {
    await as.resetCounts();
    await makeDue(h.home, 'testas');
    const results = await together(Array.from({ length: 4 }, () => ({ argv: ['--import', 'tsx', LIBRARY_WORKER, '50'], env: h.env })));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const tokens = new Set(results.flatMap((r) => r.stdout.trim().split('\n')));
    assert.equal(results.flatMap((r) => r.stdout.trim().split('\n')).length, 200);
    assert.equal(tokens.size, 1, `all 200 calls saw one token (got ${tokens.size})`);
    assert.equal((await as.counts()).token[REFRESH], 1);
    await assertGrantAlive();
  });

  it('4 processes × 50 library calls, with the daemon refreshing in the background: one refresh per expiry', async () => {
    const env = { ...h.env, AUTHSOME_DAEMON_REFRESH_INTERVAL: '0.05' };
    const daemon = await runCliJson<{ pid: number }>(['daemon', 'restart'], { env });
    assert.equal(daemon.code, 0, daemon.stderr);
    try {
      // Counts first: the daemon may renew the moment the token falls due.
      await as.resetCounts();
      await makeDue(h.home, 'testas');
      const results = await together(Array.from({ length: 4 }, () => ({ argv: ['--import', 'tsx', LIBRARY_WORKER, '50'], env })));
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const tokens = new Set(results.flatMap((r) => r.stdout.trim().split('\n')));
      // Callers that ran before the refresh finished waited for it; nobody got a spent token.
      assert.equal(tokens.size, 1, `all 200 calls saw one token (got ${tokens.size})`);
      assert.equal((await as.counts()).token[REFRESH], 1);
      assert.equal(await as.isActive([...tokens][0]!), true);
    } finally {
      await runCli(['daemon', 'stop'], { env });
    }
    await assertGrantAlive();
  });
});
