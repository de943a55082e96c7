// The daemon when the ground moves under it (issue 13, item 7): its home or socket deleted, it
// exits and frees its port; a daemon nobody can reach over its socket is still found and stopped
// by `daemon stop` (and only if it really is ours); a daemon killed while a login waits on it
// ends that login with the next step; a daemon.sock that is a directory is named with the fix.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson, startCli } from '../support/cli.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { isProcessRunning } from '../../src/util/index.ts';

interface Status { pid: number; port: number; started?: boolean }

/** How long a daemon may take to notice that its home or socket is gone (README, "The daemon"). */
const NOTICE_LIMIT_MS = 5000;

// Exited counts as gone even before the process is reaped (a zombie): `daemon stop` returns then.
const isAlive = (pid: number) => isProcessRunning(pid);

/** Waits for a process that is not our child to end (no event exists for that): polls its pid. */
async function exited(pid: number, limitMs: number): Promise<number> {
  const started = Date.now();
  while (isAlive(pid)) {
    if (Date.now() - started > limitMs) assert.fail(`pid ${pid} still runs after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

/** Whether 127.0.0.1:port can be bound again (the daemon let go of it). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const homes: OAuthHome[] = [];
const leftovers: number[] = [];
async function home(extra: Record<string, string> = {}): Promise<OAuthHome> {
  const h = await oauthHome(extra);
  homes.push(h);
  return h;
}
async function startDaemon(h: OAuthHome): Promise<Status> {
  const started = await runCliJson<Status>(['daemon', 'start'], { env: h.env });
  assert.equal(started.code, 0, started.stderr);
  leftovers.push(started.json.pid);
  return started.json;
}
after(async () => {
  for (const pid of leftovers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const h of homes) await h.cleanup();
});

describe('a daemon whose home or socket disappears', () => {
  it('exits when its home is deleted, and its port is free again', async () => {
    const h = await home();
    const daemon = await startDaemon(h);
    rmSync(h.home, { recursive: true, force: true });
    await exited(daemon.pid, NOTICE_LIMIT_MS);
    assert.equal(await portIsFree(daemon.port), true, 'the browser port was released');
  });

  it('exits when its socket is deleted (nobody could reach it any more), keeping its log', async () => {
    const h = await home();
    const daemon = await startDaemon(h);
    rmSync(join(h.home, 'daemon.sock'));
    await exited(daemon.pid, NOTICE_LIMIT_MS);
    assert.equal(await portIsFree(daemon.port), true);
    assert.equal(existsSync(join(h.home, 'daemon.json')), false, 'its pid file went with it');
    assert.match(readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8'), /its socket .*daemon\.sock was removed; stopping/);
    // The next start is an ordinary one.
    const next = await startDaemon(h);
    assert.equal(next.started, true);
  });

  it('`daemon stop` finds a daemon whose socket is gone through daemon.json — only when it really is ours — and stops it', async () => {
    const h = await home();
    const daemon = await startDaemon(h);
    // Frozen, it cannot notice on its own (as an older daemon, or a wedged one, would not).
    process.kill(daemon.pid, 'SIGSTOP');
    rmSync(join(h.home, 'daemon.sock'));
    const pidFile = join(h.home, 'daemon.json');
    const recorded = readFileSync(pidFile, 'utf8');

    // daemon.json naming a process that is not this home's daemon (a pid reused since): left alone.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await once(stranger, 'spawn');
      writeFileSync(pidFile, JSON.stringify({ ...JSON.parse(recorded), pid: stranger.pid }), { mode: 0o600 });
      const refused = await runCliJson<{ stopped: boolean }>(['daemon', 'stop'], { env: h.env });
      assert.equal(refused.code, 0, refused.stderr);
      assert.equal(refused.json.stopped, false);
      assert.equal(isAlive(stranger.pid!), true, 'the stranger was not signalled');
    } finally {
      stranger.kill('SIGKILL');
    }

    writeFileSync(pidFile, recorded, { mode: 0o600 });
    const stop = await runCliJson<{ stopped: boolean; pid: number | null }>(['daemon', 'stop'], { env: h.env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(stop.json, { stopped: true, pid: daemon.pid });
    assert.equal(isAlive(daemon.pid), false, '`daemon stop` returned once it had exited');
    assert.equal(await portIsFree(daemon.port), true);
    assert.equal(existsSync(pidFile), false);
  });

  it('a daemon.sock that is a directory: a clear error naming the path and the fix', async () => {
    const h = await home();
    const socket = join(h.home, 'daemon.sock');
    mkdirSync(socket);
    const result = await runCli(['daemon', 'start'], { env: h.env });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^Error: ${socket.replace(/[.]/g, '\\.')} is a directory, not the daemon's socket`, 'm'));
    assert.match(result.stderr, new RegExp(`rmdir ${socket.replace(/[.]/g, '\\.')}`));
    assert.equal(existsSync(join(h.home, 'daemon.json')), false, 'no daemon was left running');
    rmSync(socket, { recursive: true });
    await startDaemon(h);
  });
});

describe('a daemon killed while a login waits on it', () => {
  let as: AuthServer;
  before(async () => (as = await startAuthServer()));
  after(() => as?.close());

  it('ends the login at once with what happened and the next step, never "aborted"', async () => {
    const h = await home();
    await h.register(testProvider(as));
    // A browser that is handed the URL and never comes back.
    const urls = join(h.home, 'urls.txt');
    const browser = join(h.home, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${urls}'\n`);
    chmodSync(browser, 0o700);
    const login = startCli(['login', 'testas'], { env: { ...h.env, BROWSER: browser } });
    await login.waitForStderr(/Waiting for the browser to finish/);
    const daemon = JSON.parse(readFileSync(join(h.home, 'daemon.json'), 'utf8')) as Status;
    const killedAt = Date.now();
    process.kill(daemon.pid, 'SIGKILL');
    const result = await login.done;
    assert.ok(Date.now() - killedAt < 3000, `the login ended ${Date.now() - killedAt} ms after the daemon died`);
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /aborted/);
    assert.match(result.stderr, /^Error: the authsome daemon stopped while the login to testas was waiting for the browser; nothing was stored/m);
    assert.match(result.stderr, /authsome login testas/);
    assert.match(result.stderr, /authsome daemon logs/);
    // The browser was handed a local page (never the link itself: issue 14), which the next daemon sweeps away.
    const page = /^file:\/\/\/.*\/open\/[\w-]+\.html$/m.exec(readFileSync(urls, 'utf8'))?.[0];
    assert.ok(page, 'the browser was given a local page');
    assert.equal(existsSync(fileURLToPath(page)), true, 'a killed daemon leaves its page behind');
    assert.equal((await runCli(['daemon', 'start'], { env: h.env })).code, 0);
    assert.equal(existsSync(fileURLToPath(page)), false, 'the next daemon removed the page of a link that died with the last one');
  });
});
