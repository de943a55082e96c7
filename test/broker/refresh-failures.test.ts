// How the refresh protocol fails: a holder killed before its request leaves (another caller takes
// over once the lease lapses) or after the server rotated (invalid_grant, the record kept), and a
// token endpoint that is unreachable, slow, broken or rejecting — each with the right state,
// message and exit code, and never a credential lost. No log or audit file ever holds a token.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson, runCliJsonLines, startCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { testProvider, type OAuthHome } from '../support/oauth-home.ts';
import type { TokenGate } from '../support/token-gate.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';

let fx: GatedOAuth;
let as: AuthServer;
let gate: TokenGate;
let h: OAuthHome;
let env: Record<string, string>;

const get = (field = 'access_token') => runCli(['get', 'testas', '--field', field, '--show-secret'], { env });
const field = async (name: string) => (await runCli(['get', 'testas', '--field', name], { env })).stdout.trim();

before(async () => {
  fx = await startGatedOAuth();
  ({ as, gate, h } = fx);
  // A 1 s request timeout makes the lease 1.5 s, so a takeover test waits seconds, not half a minute.
  env = { ...h.env, AUTHSOME_REFRESH_TIMEOUT: '1' };
});
after(async () => {
  assert.ok((await as.issuedTokens()).length > 0);
  await fx?.close({ checkCanaries: true });
});

/** A new grant (the previous test may have spent or revoked it), with the gate passing. */
beforeEach(async () => {
  gate.mode('pass');
  // The login itself with the default timeouts: a loaded machine must not fail the setup.
  const login = await runCli(['login', 'testas', '--force'], { env: { ...env, AUTHSOME_REFRESH_TIMEOUT: '20' } });
  assert.equal(login.code, 0, login.stderr);
});

describe('a refresh interrupted by a crash', () => {
  it('killed before its token request leaves: the next caller takes over after the lease and succeeds', async () => {
    const before = (await get()).stdout.trim();
    await makeDue(h.home, 'testas');
    await as.resetCounts();
    gate.mode('hold-request');
    const holder = startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
    await gate.nextHeld(); // the holder has the lease and its request is in flight, but the server never saw it
    holder.kill('SIGKILL');
    await holder.done;
    gate.mode('pass');
    const next = await get();
    assert.equal(next.code, 0, next.stderr);
    assert.notEqual(next.stdout.trim(), before);
    assert.equal((await as.counts()).token.refresh_token, 1, 'only the taking-over caller reached the server');
    assert.equal(await as.isActive(next.stdout.trim()), true);
    assert.equal(await field('status'), 'connected');
  });

  it('killed after the server rotated but before the write: invalid_grant, state invalid, the record kept', async () => {
    await makeDue(h.home, 'testas');
    gate.mode('hold-response');
    const holder = startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
    await gate.nextHeld(); // the server has rotated the refresh token; the answer never arrives
    holder.kill('SIGKILL');
    await holder.done;
    gate.mode('pass');
    const next = await get();
    assert.equal(next.code, 6);
    assert.match(next.stderr, /^Error: refresh failed for testas \(default\): invalid_grant\n/);
    assert.match(next.stderr, /authsome login testas --force/);
    const { code, json } = await runCliJson<Record<string, unknown>>(['get', 'testas'], { env });
    assert.equal(code, 0, 'the record is still there');
    assert.equal(json.status, 'invalid');
    assert.ok(json.refresh_token, 'the (spent) refresh token is kept, never deleted');
    assert.equal(await field('last_refresh_error'), 'invalid_grant');
    // An invalid connection is not retried on every access: it waits for a new login.
    await as.resetCounts();
    assert.equal((await get()).code, 6);
    assert.equal((await as.counts()).token.refresh_token ?? 0, 0);
  });
});

describe('a refresh racing a new login', () => {
  it('never overwrites the new login with the old grant\'s rotated tokens', async () => {
    await makeDue(h.home, 'testas');
    gate.mode('hold-response');
    // Its answer waits at the gate while a whole login runs: give it the default timeout, not 1 s.
    const old = startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: { ...env, AUTHSOME_REFRESH_TIMEOUT: '20' } });
    await gate.nextHeld(); // the old grant was rotated at the server; its answer is held
    gate.mode('pass');
    const login = await runCli(['login', 'testas', '--force'], { env });
    assert.equal(login.code, 0, login.stderr);
    const fresh = { access: (await get()).stdout.trim(), refresh: (await get('refresh_token')).stdout.trim() };
    gate.release();
    const result = await old.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), fresh.access, 'the caller got the new login\'s token');
    assert.deepEqual({ access: (await get()).stdout.trim(), refresh: (await get('refresh_token')).stdout.trim() }, fresh, 'the new login stands');
    assert.equal(await field('status'), 'connected');
  });
});

describe('a token endpoint that fails', () => {
  const cases: Array<{ name: string; setup: () => void; state: 'expired' | 'invalid'; message: RegExp }> = [
    { name: 'slow past the timeout', setup: () => gate.mode('slow', { delayMs: 5000 }), state: 'expired', message: /: connection timed out\n/ },
    { name: 'answering 500', setup: () => gate.mode('fail-500'), state: 'expired', message: /: server_error \(HTTP 500\)\n/ },
    { name: 'answering an HTML page', setup: () => gate.mode('html'), state: 'expired', message: /: the token endpoint gave no OAuth answer \(HTTP 200\)\n/ },
    { name: 'rejecting the grant', setup: () => gate.mode('oauth-error', { error: 'invalid_grant', description: 'grant request is invalid' }), state: 'invalid', message: /: invalid_grant\n.*said: grant request is invalid/ },
    { name: 'rejecting the client', setup: () => gate.mode('oauth-error', { error: 'invalid_client', description: 'client authentication failed' }), state: 'invalid', message: /: invalid_client\n/ },
  ];
  for (const c of cases) {
    it(`${c.name}: state ${c.state}, exit 6, the tokens kept`, async () => {
      const refreshToken = (await get('refresh_token')).stdout.trim();
      await makeDue(h.home, 'testas');
      c.setup();
      const result = await get();
      gate.release();
      assert.equal(result.code, 6, result.stderr);
      assert.match(result.stderr, new RegExp(`^Error: refresh failed for testas \\(default\\)${c.message.source}`));
      assert.equal(result.stdout, '');
      assert.equal(await field('status'), c.state);
      assert.equal((await get('refresh_token')).stdout.trim(), refreshToken, 'the refresh token is never overwritten or deleted');
      const log = await runCliJsonLines(['log', '--event', 'refresh', '-n', '1'], { env });
      assert.equal(log.lines[0]!.status, 'failure');
      assert.equal(log.lines[0]!.outcome, c.state === 'invalid' ? 'rejected' : 'transient_failure');
      assert.equal(typeof log.lines[0]!.duration_ms, 'number');
      // The debug log file kept the token endpoint's URL and what it answered, secrets redacted.
      const debug = readFileSync(join(h.home, 'logs', 'authsome.log'), 'utf8');
      assert.ok(debug.includes(`oauth → POST ${gate.url}`), 'the token endpoint URL is logged');
      assert.match(debug, /"refresh_token":"\[REDACTED\]"/);
      assert.match(debug, /refresh testas \(default\) failed: /);
    });
  }

  it('unreachable: expired, and the next access retries and recovers once the server is back', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await h.register(testProvider(as, { oauth: { token_url: `http://127.0.0.1:${port}/token` } }));
    try {
      await makeDue(h.home, 'testas');
      const result = await get();
      assert.equal(result.code, 6);
      assert.match(result.stderr, /^Error: refresh failed for testas \(default\): could not reach the token endpoint \(ECONNREFUSED\)\n/);
      assert.match(result.stderr, /stays expired; the next access tries again/);
      assert.equal(await field('status'), 'expired');
    } finally {
      await fx.registerGated();
    }
    // Once the network is back, the next access after the back-off recovers (here at once: no back-off).
    const recovered = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: { ...env, AUTHSOME_REFRESH_BACKOFF: '0' } });
    assert.equal(recovered.code, 0, recovered.stderr);
    assert.equal(await field('status'), 'connected');
    assert.equal(await field('last_refresh_error'), '');
  });

  it('hands out a still-valid token with a warning when a refresh inside the window fails transiently', async () => {
    const current = (await get()).stdout.trim();
    await makeDue(h.home, 'testas', 'default', 'default', 60_000); // due (inside 300 s) but valid for a minute
    gate.mode('fail-500');
    const result = await get();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), current);
    assert.match(result.stderr, /Warning: refresh failed for testas \(default\): server_error \(HTTP 500\); using the current access token until it expires/);
    assert.equal(await field('status'), 'expired');
  });
});
