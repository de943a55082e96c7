// The daemon as a user meets it: started on demand and reused, replaced when it is another
// version, stopped cleanly, its socket private, its browser port guarded, a taken port named in
// the error users search for, and login sessions that never outlive the CLI waiting on them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { once } from 'node:events';
import { SessionRegistry, type SessionEvent } from '../../src/daemon/index.ts';
import { runCli, runCliJson, startCli } from '../support/cli.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';
import { isProcessRunning } from '../../src/util/index.ts';

interface Status { running: boolean; pid: number; port: number; version: string; sessions: number; started?: boolean }

// Exited counts as gone even before the process is reaped (a zombie): `daemon stop` returns then.
const isAlive = (pid: number) => isProcessRunning(pid);

/** A raw request, so the Host header can be anything (fetch always sends the real one). */
function rawGet(port: number, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('daemon start, status, logs and stop', () => {
  let h: OAuthHome;
  before(async () => (h = await oauthHome()));
  after(() => h.cleanup());

  it('starts on demand, is reused, keeps its socket and pid file private, and stops cleanly', async () => {
    const stopped = await runCliJson<Status>(['daemon', 'status'], { env: h.env });
    assert.equal(stopped.code, 1);
    assert.equal(stopped.json.running, false);

    const started = await runCliJson<Status>(['daemon', 'start'], { env: h.env });
    assert.equal(started.code, 0, started.stderr);
    assert.equal(started.json.started, true);
    assert.ok(started.json.port > 0);
    assert.ok(isAlive(started.json.pid));
    const socket = join(h.home, 'daemon.sock');
    assert.ok(statSync(socket).isSocket());
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    assert.equal(statSync(join(h.home, 'daemon.json')).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(join(h.home, 'daemon.json'), 'utf8')).pid, started.json.pid);

    const again = await runCliJson<Status>(['daemon', 'start'], { env: h.env });
    assert.equal(again.json.started, false);
    assert.equal(again.json.pid, started.json.pid, 'the running daemon of this version is reused');

    const status = await runCliJson<Status & { current_version: string }>(['daemon', 'status'], { env: h.env });
    assert.equal(status.code, 0);
    assert.deepEqual([status.json.running, status.json.version, status.json.sessions], [true, status.json.current_version, 0]);

    const logs = await runCliJson<{ lines: string[] }>(['daemon', 'logs', '-n', '5'], { env: h.env });
    assert.ok(logs.json.lines.some((line) => /listening on http:\/\/127\.0\.0\.1:\d+ and .*daemon\.sock/.test(line)), logs.json.lines.join('\n'));

    const stop = await runCliJson<{ stopped: boolean; pid: number }>(['daemon', 'stop'], { env: h.env });
    assert.deepEqual(stop.json, { stopped: true, pid: started.json.pid });
    assert.equal(isAlive(started.json.pid), false);
    assert.equal(existsSync(socket), false);
    assert.equal(existsSync(join(h.home, 'daemon.json')), false);
    assert.equal((await runCli(['daemon', 'status'], { env: h.env })).code, 1);
  });

  it('guards every browser route: foreign Host refused, no CORS, no caching, a nonce CSP', async () => {
    const { json } = await runCliJson<Status>(['daemon', 'start'], { env: h.env });
    const rebinding = await rawGet(json.port, '/auth/callback/oauth?state=x&code=y', { host: `evil.example:${json.port}` });
    assert.equal(rebinding.status, 421);
    assert.doesNotMatch(rebinding.body, /state parameter/);
    const own = await rawGet(json.port, '/auth/callback/oauth?state=x&code=y', { host: `localhost:${json.port}`, origin: 'http://evil.example' });
    assert.equal(own.status, 400);
    assert.match(own.body, /Error: OAuth state parameter does not match/);
    assert.equal(own.headers['cache-control'], 'no-store');
    assert.match(String(own.headers['content-security-policy']), /^default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-[^']+';/);
    assert.equal(own.headers['access-control-allow-origin'], undefined);
    const preflight = await rawGet(json.port, '/input/x', { host: `127.0.0.1:${json.port}`, origin: 'http://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
    assert.equal(preflight.status, 405);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  it('answers a malformed API request with 400 and keeps running', async () => {
    const { json } = await runCliJson<Status>(['daemon', 'start'], { env: h.env });
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: join(h.home, 'daemon.sock'), path: '/v1/sessions', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ kind: 'nope', provider: 'x' }));
    });
    assert.equal(answer.status, 400);
    assert.match(answer.body, /kind must be callback, input or device/);
    assert.ok(isAlive(json.pid), 'the daemon survived');
    assert.equal((await runCliJson<Status>(['daemon', 'status'], { env: h.env })).json.pid, json.pid);
  });

  it('replaces a running daemon of another version', async () => {
    const home = await oauthHome();
    try {
      // A stand-in for an older authsome daemon: answers status with another version, exits on shutdown.
      const fake = spawn(process.execPath, ['-e', `
        const http = require('node:http');
        const server = http.createServer((req, res) => {
          if (req.url === '/v1/shutdown') { res.end('{}'); server.close(); setImmediate(() => process.exit(0)); return; }
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ service: 'authsome-daemon', version: '0.0.1-old', pid: process.pid, port: 1, home: '', started_at: '', sessions: 0 }));
        });
        server.listen(process.argv[1], () => process.stdout.write('ready\\n'));
      `, join(home.home, 'daemon.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
      await once(fake.stdout!, 'data');
      const exited = once(fake, 'exit');
      const started = await runCliJson<Status>(['daemon', 'start'], { env: home.env });
      assert.equal(started.code, 0, started.stderr);
      assert.equal(started.json.started, true);
      assert.notEqual(started.json.version, '0.0.1-old');
      await exited; // the old one was asked to stop, and did
      assert.notEqual(started.json.pid, fake.pid);
    } finally {
      await home.cleanup();
    }
  });

  it('names a taken port with the message users search for, and how to find its owner', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const home = await oauthHome({ AUTHSOME_PORT: String(port) });
    try {
      const result = await runCli(['daemon', 'start'], { env: home.env });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^Error: address already in use: 127\\.0\\.0\\.1:${port}\\n`));
      assert.match(result.stderr, new RegExp(`ss -ltnp 'sport = :${port}'`));
      assert.match(result.stderr, /AUTHSOME_PORT/);
      // A login needing the daemon fails the same way, before printing any URL.
      const login = await runCli(['login', 'openai', '--form', '--no-browser'], { env: home.env });
      assert.equal(login.code, 1);
      assert.match(login.stderr, /Error: address already in use: 127\.0\.0\.1:/);
      assert.doesNotMatch(login.stderr, /local form/);
    } finally {
      blocker.close();
      await home.cleanup();
    }
  });

  it('drops a session the moment its CLI goes away, so an abandoned login never blocks the next', async () => {
    const first = startCli(['login', 'openai', '--form', '--no-browser'], { env: h.env });
    const [, url] = await first.waitForStderr(/local form.*:\n\n {2}(\S+)/);
    assert.equal((await runCliJson<Status>(['daemon', 'status'], { env: h.env })).json.sessions, 1);
    first.kill('SIGINT');
    await first.done;
    // The daemon notices the closed stream; its page now says what happened.
    let page = await fetch(url!);
    for (let i = 0; i < 50 && page.status === 200; i++) page = await fetch(url!); // the close travels asynchronously
    assert.equal(page.status, 410);
    assert.match(await page.text(), /cancelled in the terminal/);
    assert.equal((await runCliJson<Status>(['daemon', 'status'], { env: h.env })).json.sessions, 0);
    const next = startCli(['login', 'openai', '--form', '--no-browser'], { env: h.env });
    await next.waitForStderr(/local form/);
    next.kill('SIGINT');
    await next.done;
  });
});

describe('login sessions expire', () => {
  it('a callback session ends after 5 minutes with a clear error, and its state is forgotten', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const registry = new SessionRegistry();
      const events: SessionEvent[] = [];
      registry.open({ kind: 'callback', provider: 'github', state: 'state-123', authorization_url: 'https://example.test/authorize?state=state-123' }, (e) => events.push(e));
      mock.timers.tick(5 * 60_000 - 1);
      assert.deepEqual(events, []);
      assert.ok(registry.byState('state-123'));
      mock.timers.tick(1);
      assert.deepEqual(events, [{ type: 'error', error: 'session_expired', message: 'the login was not completed within 5 minutes' }]);
      assert.equal(registry.byState('state-123'), null);
      assert.equal(registry.size, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('a device session lives as long as the provider\'s expires_in', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const registry = new SessionRegistry();
      const events: SessionEvent[] = [];
      registry.open({ kind: 'device', provider: 'github', title: 't', user_code: 'ABCD-EFGH', verification_uri: 'https://example.test/device', expires_in: 900 }, (e) => events.push(e));
      mock.timers.tick(5 * 60_000);
      assert.deepEqual(events, []);
      mock.timers.tick(10 * 60_000);
      assert.deepEqual(events, [{ type: 'error', error: 'session_expired', message: 'the device code expired before it was approved' }]);
    } finally {
      mock.timers.reset();
    }
  });
});
