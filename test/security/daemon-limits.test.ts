// Attacks on the daemon's resources by anyone who can reach its 127.0.0.1 port (any local user)
// or its socket: a flood of long-path requests must not grow daemon.log without bound, and a
// request body — Content-Length or chunked — is refused with 413 while it streams, so a 50 MB
// body to any route that reads one leaves the daemon's memory small.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, runCliJson } from '../support/cli.ts';
import { openDashboard, type DashboardSession } from '../support/dashboard-session.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

/** The bound the README gives: daemon.log rotates at 1 MiB and one previous file is kept. */
const LOG_BOUND = 2 * 1024 * 1024 + 64 * 1024;
const BODY = 50 * 1024 * 1024;

interface Target { port?: number; socketPath?: string; path: string; headers?: Record<string, string> }

/**
 * Streams up to `total` bytes as a chunked body (no Content-Length), stopping once the answer
 * arrives: what a hostile client does. Resolves with the status, or rejects if the connection
 * dies without one.
 */
function streamBody(target: Target, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request({
      host: '127.0.0.1', port: target.port, socketPath: target.socketPath, path: target.path, method: 'POST',
      headers: { 'transfer-encoding': 'chunked', ...target.headers },
    }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, body });
      });
      res.on('error', () => resolve({ status: res.statusCode!, body }));
    });
    // Once answered, the daemon may close the connection while we still write: that is its right.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

function get(port: number, path: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      res.resume().on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The daemon's peak resident memory (VmHWM): a body buffered for a moment shows here too. */
function peakRssBytes(pid: number): number {
  const line = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(line, `no VmHWM in /proc/${pid}/status`);
  return Number(line[1]) * 1024;
}

/** Opens an input-form session on the daemon's socket, as `login` does; the stream stays open (closing it abandons the session). */
function openInputSession(socketPath: string): Promise<{ id: string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const spec = JSON.stringify({ kind: 'input', provider: 'openai', title: 'OpenAI', intro: 'Paste your key.', fields: [{ name: 'api_key', label: 'API key', secret: true, required: true }] });
    const req = http.request({ socketPath, path: '/v1/sessions', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(spec)) } }, (res) => {
      let buffered = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const line = buffered.split('\n')[0];
        if (buffered.includes('\n')) {
          const event = JSON.parse(line!) as { type: string; id: string };
          assert.equal(event.type, 'session');
          resolve({ id: event.id, close: () => req.destroy() });
        }
      });
    });
    req.on('error', reject);
    req.end(spec);
  });
}

describe('the daemon under a flood from other local users', { timeout: 240_000 }, () => {
  let h: OAuthHome;
  let port: number;
  let pid: number;
  let socket: string;
  before(async () => {
    h = await oauthHome();
    const started = await runCliJson<{ port: number; pid: number }>(['daemon', 'start'], { env: h.env });
    assert.equal(started.code, 0, started.stderr);
    ({ port, pid } = started.json);
    socket = join(h.home, 'daemon.sock');
  });
  after(() => h.cleanup());

  it('keeps daemon.log and its one rotated file under 2 MiB however many long paths are requested', async () => {
    const log = join(h.home, 'logs', 'daemon.log');
    // A log that has grown for a while already, close to its size: the flood must rotate it while the daemon runs.
    appendFileSync(log, `${'earlier line\n'.repeat(80_000)}`);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    // 8,000-character paths (Node's header limit is 16 KiB), 800 of them: 6.4 MB of paths.
    const long = '/' + 'x'.repeat(8000);
    const statuses = await Promise.all(Array.from({ length: 800 }, (_, i) => get(port, `${long}${i}`, agent)));
    agent.destroy();
    assert.ok(statuses.every((s) => s === 404), `unexpected statuses: ${[...new Set(statuses)].join(', ')}`);

    const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);
    const total = size(log) + size(`${log}.1`);
    assert.ok(total < LOG_BOUND, `daemon.log + daemon.log.1 hold ${total} bytes after the flood`);
    assert.ok(readFileSync(`${log}.1`, 'utf8').includes('earlier line'), 'the log was rotated while the daemon ran');
    // Each line says what happened, with the path cut short.
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const requestLines = lines.filter((line) => line.includes('GET /xxx'));
    assert.ok(requestLines.length > 0, lines.slice(-3).join('\n'));
    for (const line of requestLines) assert.ok(line.length < 400, `a log line of ${line.length} characters`);
    assert.match(requestLines.at(-1)!, /GET \/x{119}… \(800\d characters\) → 404/);

    // The daemon still answers, and `daemon logs` reads the live file.
    const logs = await runCliJson<{ lines: string[] }>(['daemon', 'logs', '-n', '3'], { env: h.env });
    assert.equal(logs.code, 0);
    assert.equal(logs.json.lines.length, 3);
    const all = await runCliJson<{ lines: string[] }>(['daemon', 'logs', '-n', '1000000'], { env: h.env });
    assert.ok(all.json.lines.includes('earlier line'), 'daemon logs reaches back into daemon.log.1');
  });

  describe('a 50 MB chunked body', () => {
    let dashboard: DashboardSession;
    before(async () => (dashboard = await openDashboard(h.env)));

    it('to the input form is refused with 413', async () => {
      const session = await openInputSession(socket);
      try {
        const answer = await streamBody({
          port, path: `/input/${session.id}`,
          headers: { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' },
        }, BODY);
        assert.equal(answer.status, 413, answer.body.slice(0, 200));
      } finally {
        session.close();
      }
    });

    it('to a dashboard action is refused with 413', async () => {
      assert.equal((await dashboard.get('/ui')).status, 200, 'the dashboard session works');
      // The session's own cookie and origin, as a script holding the cookie would post.
      const headers = { host: `127.0.0.1:${port}`, origin: dashboard.origin, cookie: dashboard.cookie };
      const form = await streamBody({ port, path: '/ui/actions/register', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } }, BODY);
      assert.equal(form.status, 413, form.body.slice(0, 200));
      const json = await streamBody({ port, path: '/ui/actions/refresh', headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' } }, BODY);
      assert.equal(json.status, 413, json.body.slice(0, 200));
    });

    it('to the socket API (a session, an outcome) is refused with 413', async () => {
      const opened = await streamBody({ socketPath: socket, path: '/v1/sessions', headers: { 'content-type': 'application/json' } }, BODY);
      assert.equal(opened.status, 413, opened.body);
      assert.equal((JSON.parse(opened.body) as { error: string }).error, 'request_too_large');
      const session = await openInputSession(socket);
      try {
        const outcome = await streamBody({ socketPath: socket, path: `/v1/sessions/${session.id}/outcome`, headers: { 'content-type': 'application/json' } }, BODY);
        assert.equal(outcome.status, 413, outcome.body);
      } finally {
        session.close();
      }
    });

    it('a declared Content-Length over the limit is refused before a byte is read', async () => {
      const answer = await new Promise<number>((resolve, reject) => {
        const req = http.request({ socketPath: socket, path: '/v1/sessions', method: 'POST', headers: { 'content-length': String(BODY) } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
          req.destroy();
        });
        req.on('error', reject);
        req.write('{');
      });
      assert.equal(answer, 413);
    });

    it('left the daemon small and serving', async (t) => {
      const peak = peakRssBytes(pid);
      t.diagnostic(`peak RSS ${Math.round(peak / 1024 / 1024)} MB`);
      assert.ok(peak < 200 * 1024 * 1024, `the daemon's peak RSS reached ${Math.round(peak / 1024 / 1024)} MB`);
      const status = await runCli(['daemon', 'status'], { env: h.env });
      assert.equal(status.code, 0, status.stderr);
      assert.ok(status.stdout.includes(`pid ${pid}`), status.stdout);
    });
  });
});
