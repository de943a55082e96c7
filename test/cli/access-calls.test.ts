// Every access call is a refresh point (the token refresh page of the documentation): `get` with
// any field, masked or not, renews a due token first and prints the connection as that attempt
// left it; a failed attempt prints the resulting status, says why on stderr and exits 6; the
// documented recovery (`authsome get <p> --field status` once the network is back) works. The
// daemon's Unix socket hands out fresh credentials too (audited). An unreachable token endpoint
// costs one caller the connect timeout, and within the back-off the others hear at once. Failure
// bodies reach authsome.log whole up to 64 KiB.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { testProvider, type OAuthHome } from '../support/oauth-home.ts';
import type { TokenGate } from '../support/token-gate.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';

let fx: GatedOAuth;
let as: AuthServer;
let gate: TokenGate;
let h: OAuthHome;
let env: Record<string, string>;

const secret = async (name = 'access_token') => (await runCli(['get', 'testas', '--field', name, '--show-secret'], { env })).stdout.trim();
const refreshes = async () => (await as.counts()).token.refresh_token ?? 0;

const auditEntries = () => readFileSync(join(h.home, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

before(async () => {
  fx = await startGatedOAuth();
  ({ as, gate, h } = fx);
  // A 1 s request timeout keeps the failing cases short; no back-off unless a test asks for one.
  env = { ...h.env, AUTHSOME_REFRESH_TIMEOUT: '1', AUTHSOME_REFRESH_BACKOFF: '0' };
});
after(async () => fx?.close({ checkCanaries: true }));
beforeEach(async () => {
  gate.mode('pass');
  // The login itself with the default timeouts: a loaded machine must not fail the setup.
  const login = await runCli(['login', 'testas', '--force'], { env: { ...env, AUTHSOME_REFRESH_TIMEOUT: '20' } });
  assert.equal(login.code, 0, login.stderr);
  await as.resetCounts();
});

describe('get is an access call', () => {
  it('--field status renews a due token and prints connected', async () => {
    const before = await secret();
    await makeDue(h.home, 'testas');
    const result = await runCli(['get', 'testas', '--field', 'status'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'connected\n');
    assert.equal(await refreshes(), 1, 'one refresh request reached the token endpoint');
    assert.notEqual(await secret(), before, 'the stored token was renewed');
    assert.equal(await refreshes(), 1, 'and the next access found it fresh');
  });

  it('the masked view, --json and --verbose too: the token endpoint request is shown, redacted', async () => {
    await makeDue(h.home, 'testas');
    const result = await runCli(['--verbose', 'get', 'testas'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^status\s+connected$/m);
    assert.ok(result.stderr.includes(`oauth → POST ${gate.url}`), 'the refresh request is in the --verbose output');
    assert.match(result.stderr, /"refresh_token":"\[REDACTED\]"/);
    await makeDue(h.home, 'testas');
    const json = await runCliJson<Record<string, unknown>>(['get', 'testas'], { env });
    assert.equal(json.code, 0);
    assert.equal(json.json.status, 'connected');
    assert.match(String(json.json.access_token), /\*\*\*\*$/, 'still masked');
    assert.equal(await refreshes(), 2);
  });

  it('a failed renewal prints the resulting status, the error on stderr, exit 6; the next access recovers', async () => {
    await makeDue(h.home, 'testas');
    gate.mode('slow', { delayMs: 10_000 });
    const failed = await runCli(['get', 'testas', '--field', 'status'], { env });
    gate.release();
    assert.equal(failed.code, 6, failed.stderr);
    assert.equal(failed.stdout, 'expired\n');
    assert.match(failed.stderr, /^Error: refresh failed for testas \(default\): connection timed out\n.*next access tries again/);
    const json = await runCliJson<Record<string, unknown>>(['get', 'testas', '--field', 'status'], { env });
    gate.release();
    assert.equal(json.code, 6);
    assert.deepEqual({ error: json.json.error, status: json.json.status }, { error: 'refresh_failed', status: 'expired' }, 'one JSON document: the error and the status it left');
    // "Retry once your network is back: authsome get <provider> --field status."
    gate.mode('pass');
    const recovered = await runCli(['get', 'testas', '--field', 'status'], { env });
    assert.equal(recovered.code, 0, recovered.stderr);
    assert.equal(recovered.stdout, 'connected\n');
    assert.equal(await runCli(['get', 'testas', '--field', 'last_refresh_error'], { env }).then((r) => r.stdout), '\n');
  });

  it('a connection the provider rejected is shown as invalid, without another attempt', async () => {
    await makeDue(h.home, 'testas');
    gate.mode('oauth-error', { error: 'invalid_grant' });
    const requestsBefore = gate.requests();
    assert.equal((await runCli(['get', 'testas', '--field', 'status'], { env })).stdout, 'invalid\n');
    const again = await runCli(['get', 'testas', '--field', 'status'], { env });
    assert.equal(again.code, 0, 'nothing was attempted, so nothing failed');
    assert.equal(again.stdout, 'invalid\n');
    assert.equal(gate.requests() - requestsBefore, 1, 'an invalid connection waits for a new login');
  });
});

describe('the daemon API', () => {
  it('GET /v1/credentials/<provider> on the Unix socket renews a due token and is audited', async () => {
    const start = await runCli(['daemon', 'start'], { env });
    assert.equal(start.code, 0, start.stderr);
    const socket = join(h.home, 'daemon.sock');
    const curl = (path: string) => promisify(execFile)('curl', ['-sS', '--unix-socket', socket, '-w', '\n%{http_code}', `http://localhost${path}`]);
    await makeDue(h.home, 'testas');
    const { stdout } = await curl('/v1/credentials/testas');
    const [body, status] = stdout.split('\n') as [string, string];
    assert.equal(status, '200', body);
    const issued = JSON.parse(body) as Record<string, unknown>;
    assert.equal(issued.status, 'connected');
    assert.equal(issued.auth_type, 'oauth2');
    assert.equal(await as.isActive(String(issued.credential)), true);
    assert.deepEqual(issued.headers, { Authorization: `Bearer ${String(issued.credential)}` });
    assert.equal(await refreshes(), 1);
    assert.equal(await secret(), issued.credential, 'the renewed token was stored before it was handed out');
    const entry = auditEntries().filter((e) => e.event === 'get' && e.field === 'credential');
    assert.deepEqual(entry.map((e) => [e.provider, e.show_secret, e.via]), [['testas', true, 'daemon']], 'audited like get --show-secret');
    const missing = await curl('/v1/credentials/nosuch');
    const [missingBody, missingStatus] = missing.stdout.split('\n') as [string, string];
    assert.equal(missingStatus, '404');
    assert.equal((JSON.parse(missingBody) as { error: string }).error, 'provider_not_found');
    await runCli(['daemon', 'stop'], { env });
  });
});

describe('an unreachable token endpoint', () => {
  it('costs one caller the connect timeout (≤ 5 s); within the back-off the next callers hear at once', async () => {
    const blackhole = await startBlackhole();
    try {
      await h.register(testProvider(as, { oauth: { token_url: `http://127.0.0.1:${blackhole.port}/token` } }));
      await makeDue(h.home, 'testas');
      const attempts = () => auditEntries().filter((e) => e.event === 'refresh').slice(earlier);
      const earlier = auditEntries().filter((e) => e.event === 'refresh').length;
      // The default timeouts: 20 s per request, of which 5 s to connect.
      const first = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env });
      assert.equal(first.code, 6, first.stderr);
      assert.match(first.stderr, /^Error: refresh failed for testas \(default\): connection timed out\n/);
      const [attempt] = attempts();
      assert.ok(Number(attempt!.duration_ms) < 7000, `the attempt took ${String(attempt!.duration_ms)} ms: the connect timeout, not the request timeout`);
      // Within the back-off (made long here, so a slow start of this process cannot outlast it) the next caller is told at once.
      const second = await runCli(['get', 'testas', '--field', 'status'], { env: { ...h.env, AUTHSOME_REFRESH_BACKOFF: '600' } });
      assert.equal(second.code, 6);
      assert.equal(second.stdout, 'expired\n');
      assert.match(second.stderr, /^Error: refresh failed for testas \(default\): connection timed out\nThe connection stays expired; the next access from .* tries again/);
      assert.equal(attempts().length, 1, 'no second attempt at the unreachable endpoint');
    } finally {
      await blackhole.close();
      await fx.registerGated();
    }
  });

  it('a provider whose issuer metadata cannot be reached: the same transient failure, marked and backed off', async () => {
    const blackhole = await startBlackhole();
    try {
      await h.register(testProvider(as, { oauth: { issuer: `http://127.0.0.1:${blackhole.port}`, token_url: gate.url } }));
      await makeDue(h.home, 'testas');
      const first = await runCli(['get', 'testas', '--field', 'status'], { env: { ...h.env, AUTHSOME_REFRESH_BACKOFF: '600' } });
      assert.equal(first.code, 6, first.stderr);
      assert.equal(first.stdout, 'expired\n', 'the status it left is printed');
      assert.match(first.stderr, /^Error: refresh failed for testas \(default\): connection timed out\n/);
      const refreshes = () => auditEntries().filter((e) => e.event === 'refresh');
      const attempt = refreshes().at(-1)!;
      assert.deepEqual([attempt.outcome, attempt.reason], ['transient_failure', 'connection timed out']);
      const attemptsSoFar = refreshes().length;
      const second = await runCli(['get', 'testas', '--field', 'status'], { env: { ...h.env, AUTHSOME_REFRESH_BACKOFF: '600' } });
      assert.equal(second.code, 6);
      assert.match(second.stderr, /tries again/, 'within the back-off: told at once, no second wait');
      assert.equal(refreshes().length, attemptsSoFar, 'no second attempt');
    } finally {
      await blackhole.close();
      await fx.registerGated();
    }
  });

  it('within the back-off a still-valid token is handed out with a warning, without another request', async () => {
    const current = await secret();
    await makeDue(h.home, 'testas', 'default', 'default', 60_000); // inside the window, valid for a minute
    gate.mode('fail-500');
    const backoff = { ...env, AUTHSOME_REFRESH_BACKOFF: '600' };
    const first = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: backoff });
    const requests = gate.requests();
    const second = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: backoff });
    assert.deepEqual([first.code, first.stdout, second.code, second.stdout], [0, `${current}\n`, 0, `${current}\n`]);
    assert.match(second.stderr, /Warning: refresh failed for testas \(default\): server_error \(HTTP 500\); using the current access token until it expires/);
    assert.equal(gate.requests(), requests, 'the second caller did not try the failing endpoint again');
  });
});

describe('the debug log', () => {
  it('keeps a failure body whole up to 64 KiB, and says what it cut beyond', async () => {
    const body = `upstream proxy error: the refresh_token parameter was refused\n${'x'.repeat(40 * 1024)}\nend of the explanation`;
    await makeDue(h.home, 'testas');
    gate.mode('text', { status: 502, body });
    const result = await runCli(['get', 'testas', '--field', 'status'], { env });
    assert.equal(result.code, 6);
    let log = readFileSync(join(h.home, 'logs', 'authsome.log'), 'utf8');
    assert.ok(log.includes(JSON.stringify(body).slice(1, -1)), 'the whole 40 KiB body is in authsome.log, though it names refresh_token');
    const long = `${'y'.repeat(64 * 1024)}TAIL-NOT-LOGGED`;
    await makeDue(h.home, 'testas');
    gate.mode('text', { status: 502, body: long });
    await runCli(['get', 'testas', '--field', 'status'], { env });
    log = readFileSync(join(h.home, 'logs', 'authsome.log'), 'utf8');
    assert.ok(log.includes(`${'y'.repeat(64 * 1024)}… [15 more characters]`), 'cut at 64 KiB, and said so');
    assert.ok(!log.includes('TAIL-NOT-LOGGED'));
  });
});

/**
 * A loopback port that never completes a connection: a listener (Python's, since Node accepts
 * by itself) with a full accept queue that it never drains, so new SYNs are dropped — as with a
 * dead route or a firewall that drops packets.
 */
async function startBlackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const script = [
    'import socket, sys',
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    'port = s.getsockname()[1]; held = []',
    'for _ in range(4):',
    '    c = socket.socket(); c.setblocking(False)',
    "    try: c.connect(('127.0.0.1', port))",
    '    except BlockingIOError: pass',
    '    held.append(c)',
    'print(port, flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = await new Promise<string[]>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => resolve([l]));
    child.once('error', reject);
  });
  return {
    port: Number(line),
    close: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    }),
  };
}
