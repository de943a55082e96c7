// A lease holder that stops (Ctrl-Z, a laptop lid, a debugger) or dies in the middle of a refresh
// (issue 13, item 4). A stopped holder keeps its lease until the TTL — never taken over early —
// and once another caller has taken over, the stopped one, resumed, can never write the record
// again (every write is fenced by the pending form it wrote). A holder that died on this machine
// frees its lease at once: the next caller does not wait out the TTL.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson, startCli, type RunningCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import type { OAuthHome } from '../support/oauth-home.ts';
import type { TokenGate } from '../support/token-gate.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';

let fx: GatedOAuth;
let as: AuthServer;
let gate: TokenGate;
let h: OAuthHome;

before(async () => {
  fx = await startGatedOAuth();
  ({ as, gate, h } = fx);
});
after(async () => fx?.close({ checkCanaries: true }));

beforeEach(async () => {
  gate.mode('pass');
  const login = await runCli(['login', 'testas', '--force'], { env: h.env });
  assert.equal(login.code, 0, login.stderr);
  // No daemon: its background refresher must not take part.
  await runCli(['daemon', 'stop'], { env: h.env });
});

const getToken = (env: Record<string, string>) => startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
const debugLog = () => readFileSync(join(h.home, 'logs', 'authsome.log'), 'utf8');

/** Resolves when the gate holds the caller's token request (or answer); fails if the caller ends first. */
async function heldAtTheGate(caller: RunningCli): Promise<void> {
  const held = await Promise.race([gate.nextHeld().then(() => true), caller.done.then(() => false)]);
  if (!held) assert.fail(`the refresh never reached the token endpoint: ${JSON.stringify(await caller.done)}`);
}

/** The stored record as `get --json` shows it (a rejected connection is shown without another attempt). */
async function stored(): Promise<{ status: string; generation: number; refresh: string; error: string }> {
  const { code, json } = await runCliJson<{ status: string; metadata: { generation: number; last_refresh_error: string } }>(['get', 'testas'], { env: h.env });
  assert.equal(code, 0);
  const refresh = await runCli(['get', 'testas', '--field', 'refresh_token', '--show-secret'], { env: h.env });
  return { status: json.status, generation: json.metadata.generation, refresh: refresh.stdout.trim(), error: json.metadata.last_refresh_error };
}

describe('a stopped lease holder', () => {
  it('is taken over only once its lease lapses, and, resumed, never writes over what the other caller left', async () => {
    // A 1 s request timeout: the lease lasts 1.5 s.
    const env = { ...h.env, AUTHSOME_REFRESH_TIMEOUT: '1' };
    await makeDue(h.home, 'testas');
    const logBefore = debugLog().length;
    gate.mode('hold-response');
    const first = getToken(env);
    await heldAtTheGate(first); // the server rotated the pair; its answer is held
    first.kill('SIGSTOP');
    gate.mode('pass');
    // The next caller waits for the stopped holder's lease (alive: no early takeover), then presents
    // the refresh token the first one had spent: the server detects the reuse and revokes the grant.
    const second = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
    assert.equal(second.code, 6, second.stderr);
    assert.match(second.stderr, /^Error: refresh failed for testas \(default\): invalid_grant\n/);
    assert.doesNotMatch(debugLog().slice(logBefore), /freed the lease/, 'a stopped holder is alive: its lease is never freed early');
    const left = await stored();
    assert.equal(left.status, 'invalid');

    // The first holder resumes and gets its (now revoked) pair, or its own timeout: either way the
    // record stays as the second caller left it.
    gate.release();
    first.kill('SIGCONT');
    const resumed = await first.done;
    assert.equal(resumed.code, 6, resumed.stderr);
    assert.match(resumed.stderr, /refresh failed for testas \(default\)/);
    assert.equal(resumed.stdout, '', 'no token is handed out');
    assert.deepEqual(await stored(), left, 'the record is exactly as the second caller left it');
  });
});

describe('a lease holder that died', () => {
  it('frees its lease at once for the next caller on this machine, well under the TTL', async () => {
    // The default request timeout (20 s): the lease lasts 30 s.
    const env = h.env;
    const before = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
    await makeDue(h.home, 'testas');
    await as.resetCounts();
    gate.mode('hold-request');
    const holder = getToken(env);
    await heldAtTheGate(holder); // it holds the lease; the server never saw its request
    holder.kill('SIGKILL');
    await holder.done;
    gate.mode('pass');
    gate.release(); // the dead client's request is dropped, never forwarded
    const started = Date.now();
    const next = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
    const waited = Date.now() - started;
    assert.equal(next.code, 0, next.stderr);
    assert.notEqual(next.stdout, before.stdout);
    // Well under the lease (30 s), however slow this machine is at starting a CLI process.
    assert.ok(waited < 25_000, `the next caller waited ${waited} ms (the lease is 30 s)`);
    assert.match(debugLog(), /refresh testas \(default\): freed the lease of \S+: its process is gone/);
    assert.equal((await as.counts()).token.refresh_token, 1, 'only the next caller reached the server');
    assert.equal(await as.isActive(next.stdout.trim()), true);
  });
});
