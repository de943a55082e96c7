// A refresh presents the client the grant was issued to: the profile's own stored client, not
// whatever client variables the refreshing process (another CLI, the daemon) happens to carry.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';

let as: AuthServer;
let h: OAuthHome;

before(async () => {
  as = await startAuthServer({ accessTokenTtl: 3600 });
  h = await oauthHome();
  await h.register(testProvider(as));
});
after(async () => {
  await h?.cleanup();
  await as?.close();
});

describe('the client a refresh presents', () => {
  it('is the profile\'s stored client, even when the environment names another one', async () => {
    // Profile "work" logs in with the confidential client; "default" with the public one.
    assert.equal((await runCli(['login', 'testas'], { env: h.env })).code, 0);
    assert.equal((await runCli(['profile', 'create', 'work'], { env: h.env })).code, 0);
    const workEnv = { ...h.env, TESTAS_CLIENT_ID: 'authsome-confidential', TESTAS_CLIENT_SECRET: 'confidential-secret-123456' };
    const login = await runCli(['login', 'testas', '--profile', 'work'], { env: workEnv });
    assert.equal(login.code, 0, login.stderr);

    await makeDue(h.home, 'testas', 'default', 'work');
    await as.resetCounts();
    // A process whose environment names the public client refreshes work's grant.
    const refreshed = await runCliJson<{ refreshed: boolean; status: string }>(['refresh', 'testas', '--profile', 'work'], { env: h.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.deepEqual([refreshed.json.refreshed, refreshed.json.status], [true, 'connected']);
    assert.equal((await as.counts()).token.refresh_token, 1);
    const status = await runCli(['get', 'testas', '--profile', 'work', '--field', 'status'], { env: h.env });
    assert.equal(status.stdout.trim(), 'connected');
  });
});
