// The documented recoveries at login, against the real test authorization server (oidc-provider):
// a client whose secret no longer matches fails with `Error: token exchange failed: invalid_client`
// and the revoke-then-login recovery, in text and --json; after an invalid_client (at the exchange
// or at a refresh) the stored client is marked rejected, so the next login asks for fresh client
// credentials instead of failing the same way; `login --scopes a,b` re-consents a connected
// provider without --force; and `login --force` keeps the base URL of a self-hosted instance.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Vault, keys } from '../../src/vault/index.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { runCli, runCliJson, startCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { startTokenGate, type TokenGate } from '../support/token-gate.ts';

const SECRET = 'confidential-secret-123456';
const FORM_URL = /local form \(it never leaves this computer\):\n\n {2}http:\/\/127\.0\.0\.1:\d+\/input\//;

let as: AuthServer;
let gate: TokenGate;
const homes: OAuthHome[] = [];

before(async () => {
  as = await startAuthServer({ accessTokenTtl: 3600 });
  gate = await startTokenGate(`${as.issuer}/token`);
});
after(async () => {
  const tokens = await as.issuedTokens();
  for (const h of homes) {
    await assertNoTokenIn([join(h.home, 'audit.log'), join(h.home, 'logs')], [...tokens, SECRET]);
    await h.cleanup();
  }
  await gate?.close();
  await as?.close();
});

/** A home whose provider uses the confidential client (client_secret_basic) through the gate. */
async function confidentialHome(overrides: Record<string, unknown> = {}): Promise<OAuthHome> {
  const h = await oauthHome({ TESTAS_CLIENT_ID: 'authsome-confidential', TESTAS_CLIENT_SECRET: SECRET });
  homes.push(h);
  await h.register(testProvider(as, { oauth: { token_url: gate.url, token_endpoint_auth_method: 'client_secret_basic' }, ...overrides }));
  return h;
}

/** The provider's env without the client variables: what a later shell, cron job or agent has. */
const withoutClientVars = (h: OAuthHome) => ({ ...h.env, TESTAS_CLIENT_ID: undefined, TESTAS_CLIENT_SECRET: undefined });

/** Puts another secret into the stored client record: the app's secret was rotated at the provider. */
async function rotateStoredSecret(home: string): Promise<void> {
  const vault = new Vault({ home, secrets: {} });
  try {
    await vault.transaction('default', async (tx) => {
      const key = keys.client('default', 'testas');
      const client = await tx.read('client', key);
      assert.ok(client, 'a client record was stored by the first login');
      await tx.write('client', key, { ...client, client_secret: 'the-old-secret-before-rotation' });
    });
  } finally {
    await vault.close();
  }
}

async function clientMetadata(home: string): Promise<Record<string, unknown>> {
  const vault = new Vault({ home, secrets: {} });
  try {
    return (await vault.read('default', 'client', keys.client('default', 'testas')))?.metadata ?? {};
  } finally {
    await vault.close();
  }
}

describe('a client the token endpoint rejects', () => {
  it('at the exchange: "token exchange failed: invalid_client", the recovery, the client marked rejected', async () => {
    const h = await confidentialHome();
    const first = await runCli(['login', 'testas'], { env: h.env });
    assert.equal(first.code, 0, first.stderr);
    await rotateStoredSecret(h.home);
    const env = withoutClientVars(h);
    const failed = await runCli(['login', 'testas', '--force'], { env });
    assert.equal(failed.code, 4, failed.stderr);
    assert.match(failed.stderr, /^Error: token exchange failed: invalid_client\n/m);
    assert.match(failed.stderr, /authsome revoke testas, then authsome login testas \(it collects client_id and client_secret again through the browser form\)/);
    const json = await runCliJson<{ error: string; message: string; hint: string }>(['login', 'testas', '--force'], { env: { ...env, BROWSER: undefined } });
    assert.equal(json.code, 2, 'the rejected client is not tried again: it needs someone to type a new one');
    assert.equal(json.json.error, 'input_required');
    assert.match(json.json.message, /needs OAuth client credentials/);
    assert.equal(typeof (await clientMetadata(h.home)).rejected_at, 'string', 'the stored client is kept, marked rejected');
    // With a person at hand, the next login (here --force, over the still connected old grant) opens the form.
    const next = startCli(['login', 'testas', '--force', '--no-browser'], { env });
    await next.waitForStderr(FORM_URL);
    next.kill();
    await next.done;
  });

  it('--json carries the same message and the recovery as hint', async () => {
    const h = await confidentialHome();
    const failed = await runCliJson<{ error: string; message: string; hint: string }>(['login', 'testas'], { env: { ...h.env, TESTAS_CLIENT_SECRET: 'rotated-away' } });
    assert.equal(failed.code, 4);
    assert.equal(failed.json.error, 'authentication_failed');
    assert.equal(failed.json.message, 'token exchange failed: invalid_client');
    assert.match(failed.json.hint, /The client came from TESTAS_CLIENT_ID and TESTAS_CLIENT_SECRET: correct them/);
  });

  it('at a refresh: the connection invalid, and `login` without --force asks for a new client', async () => {
    const h = await confidentialHome();
    assert.equal((await runCli(['login', 'testas'], { env: h.env })).code, 0);
    const env = withoutClientVars(h);
    await makeDue(h.home, 'testas');
    gate.mode('oauth-error', { error: 'invalid_client', description: 'client authentication failed' });
    const refresh = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
    gate.mode('pass');
    assert.equal(refresh.code, 6);
    assert.match(refresh.stderr, /^Error: refresh failed for testas \(default\): invalid_client\n.*authsome revoke testas, then authsome login testas/);
    assert.equal((await runCli(['get', 'testas', '--field', 'status'], { env })).stdout, 'invalid\n');
    assert.equal((await clientMetadata(h.home)).rejected_error, 'invalid_client');
    const next = startCli(['login', 'testas', '--no-browser'], { env });
    await next.waitForStderr(FORM_URL);
    next.kill();
    await next.done;
    // With the app's (current) credentials in the environment, the login goes through and clears the mark.
    const login = await runCli(['login', 'testas'], { env: h.env });
    assert.equal(login.code, 0, login.stderr);
    assert.equal((await clientMetadata(h.home)).rejected_at, undefined);
    assert.equal((await runCli(['get', 'testas', '--field', 'status'], { env })).stdout, 'connected\n');
  });
});

describe('unauthorized_client at a refresh', () => {
  it('makes the connection invalid but leaves the client usable: the client is allowed, this grant is not', async () => {
    const h = await confidentialHome();
    assert.equal((await runCli(['login', 'testas'], { env: h.env })).code, 0);
    await makeDue(h.home, 'testas');
    gate.mode('oauth-error', { error: 'unauthorized_client' });
    const refresh = await runCli(['get', 'testas', '--field', 'status'], { env: withoutClientVars(h) });
    gate.mode('pass');
    assert.equal(refresh.stdout, 'invalid\n');
    assert.equal((await clientMetadata(h.home)).rejected_at, undefined, 'the stored client is not marked rejected');
  });
});

describe('login --scopes on a connected provider', () => {
  it('re-consents with those scopes, keeping the connection, without --force; commas or spaces', async () => {
    const h = await oauthHome();
    homes.push(h);
    await h.register(testProvider(as));
    const first = await runCli(['login', 'testas', '--verbose'], { env: h.env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /authorization request: http:\/\/127\.0\.0\.1:\d+\/auth\?/);
    assert.doesNotMatch(first.stderr, /prompt=/, 'a first login asks for nothing special');
    const refused = await runCli(['login', 'testas'], { env: h.env });
    assert.equal(refused.code, 2, 'a plain login still refuses to replace a connected one');
    // --verbose shows the authorization request the start link goes on to.
    const narrower = await runCli(['login', 'testas', '--scopes', 'openid,offline_access', '--verbose'], { env: h.env });
    assert.equal(narrower.code, 0, narrower.stderr);
    assert.match(narrower.stderr, /authorization request: \S*[?&]prompt=consent&/, 'the provider was asked to show its consent again');
    assert.match(narrower.stdout, /^Replaced testas \(default\)/);
    assert.equal((await runCli(['get', 'testas', '--field', 'scopes'], { env: h.env })).stdout, 'openid offline_access\n');
    const spaced = await runCli(['login', 'testas', '--scopes', 'openid email offline_access'], { env: h.env });
    assert.equal(spaced.code, 0, spaced.stderr);
    assert.equal((await runCli(['get', 'testas', '--field', 'scopes'], { env: h.env })).stdout, 'openid email offline_access\n');
    const list = await runCliJson<{ custom: Array<{ name: string; connections: unknown[] }> }>(['list', '--connected'], { env: h.env });
    assert.equal(list.json.custom.find((p) => p.name === 'testas')?.connections.length, 1, 'the same connection, not a second one');
  });
});

describe('login --force of a self-hosted instance', () => {
  // Before the fix the second login opened a form for the base URL that nobody fills: a timeout, not a hang.
  it('keeps the base URL it was logged in with', { timeout: 60_000 }, async () => {
    const h = await oauthHome();
    homes.push(h);
    // A self-hosted provider: every endpoint hangs off {base_url}, and the definition names no instance.
    await h.register(testProvider(as, {
      oauth: {
        issuer: null, authorization_url: '{base_url}/auth', token_url: '{base_url}/token', revocation_url: '{base_url}/token/revocation', scopes: ['openid', 'offline_access'],
      },
    }));
    const first = await runCli(['login', 'testas', '--base-url', as.issuer], { env: h.env });
    assert.equal(first.code, 0, first.stderr);
    // No --base-url now, and no person to ask for one: the login must still know the instance.
    const again = await runCli(['login', 'testas', '--force'], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await runCli(['get', 'testas', '--field', 'base_url'], { env: h.env })).stdout, `${as.issuer}\n`);
  });
});
