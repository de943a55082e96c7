// Issue 14, item 1: no one-time link, OAuth `state` or PKCE challenge on a command line. The
// browser the opener starts keeps its arguments for its whole life, and every local user can read
// them in /proc/<pid>/cmdline. Written as the attack: `nobody` reads the recording browser's
// cmdline and environ while it runs, and tries what it found; a leaked authorization URL completed
// in another browser does not complete the victim's login, which the victim's own browser then does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { CookieJar, browse, fileRedirectTarget, followAuthorizationUrl, runAutoSubmit } from '../support/browser-sim.ts';
import { launchChromium } from '../support/chromium.ts';
import { runCli, startCli } from '../support/cli.ts';
import { rawRequest } from '../support/dashboard-session.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';

const RECORDER = fileURLToPath(new URL('../support/recording-browser.mjs', import.meta.url));
const RECORDING_BROWSER = `${process.execPath} ${RECORDER}`;

let as: AuthServer;
let h: OAuthHome;
const scratch = mkdtempSync(join(tmpdir(), 'as-rec-'));
const browsers: number[] = [];

before(async () => {
  as = await startAuthServer();
  h = await oauthHome();
  await h.register(testProvider(as));
  const probe = spawnSync('runuser', ['-u', 'nobody', '--', 'true']);
  assert.equal(probe.status, 0, `these tests play the other local user as nobody (runuser): ${probe.stderr}`);
});
after(async () => {
  for (const pid of browsers) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await h?.cleanup();
  await as?.close();
  rmSync(scratch, { recursive: true, force: true });
});

let records = 0;
/** $BROWSER and the file where the recording browser says what it was given. */
function recordingBrowser(): { env: Record<string, string>; record: string } {
  const record = join(scratch, `browser-${records++}.json`);
  return { env: { BROWSER: RECORDING_BROWSER, AUTHSOME_TEST_BROWSER_RECORD: record }, record };
}

/** Waits for the recording browser to start, returning its pid and arguments. */
async function started(record: string): Promise<{ pid: number; argv: string[] }> {
  const ready = new Promise<void>((resolve) => {
    const watcher = watch(dirname(record), () => {
      if (existsSync(record)) {
        watcher.close();
        resolve();
      }
    });
    if (existsSync(record)) {
      watcher.close();
      resolve();
    }
  });
  await ready;
  const recorded = JSON.parse(readFileSync(record, 'utf8')) as { pid: number; argv: string[] };
  browsers.push(recorded.pid);
  return recorded;
}

/** What another local user sees of a process: its command line and environment, read as nobody. */
function asNobody(path: string): { ok: boolean; text: string; error: string } {
  const result = spawnSync('runuser', ['-u', 'nobody', '--', 'cat', path], { encoding: 'latin1' });
  return { ok: result.status === 0, text: result.stdout.replaceAll('\0', ' '), error: result.stderr };
}

/** Everything of the browser process another user could read. */
function spy(pid: number): string {
  const cmdline = asNobody(`/proc/${pid}/cmdline`);
  assert.ok(cmdline.ok, `nobody reads every process's command line (that is the threat): ${cmdline.error}`);
  const environ = asNobody(`/proc/${pid}/environ`);
  return cmdline.text + (environ.ok ? `\n${environ.text}` : '');
}

/** What the person's own browser loads: the page the opener named, followed to its first http(s) address. */
function openedUrl(argv: string[]): string {
  const given = argv.find((a) => /^(https?|file):/.test(a));
  assert.ok(given, `the browser got a URL: ${argv.join(' ')}`);
  if (!given.startsWith('file:')) return given;
  const target = fileRedirectTarget(given);
  assert.ok(target, 'the local page forwards somewhere');
  return target;
}

/** The http(s) URLs the attacker lifted from what it read, each tried as the attacker (curl as nobody). */
function tryAsNobody(seen: string): number[] {
  return [...seen.matchAll(/https?:\/\/127\.0\.0\.1:\d+\/\S+/g)].map(([url]) => {
    const curl = spawnSync('runuser', ['-u', 'nobody', '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url], { encoding: 'utf8' });
    return Number(curl.stdout);
  });
}

describe('the browser opener puts no capability on a command line', () => {
  it('authsome ui: nobody cannot read or redeem the one-time dashboard link; the person\'s browser can', async () => {
    const { env, record } = recordingBrowser();
    const ui = await runCli(['ui'], { env: { ...h.env, ...env } });
    assert.equal(ui.code, 0, ui.stderr);
    const { pid, argv } = await started(record);
    const seen = spy(pid);
    const link = new URL(openedUrl(argv));
    const token = link.searchParams.get('t');
    assert.ok(token, `the dashboard link carries its token: ${link.href}`);
    // The person's own terminal shows it too, for a browser that cannot read the local page (snap, flatpak).
    assert.ok(ui.stdout.includes(link.href), `the link is printed for a confined browser:\n${ui.stdout}`);
    assert.ok(!seen.includes(token), `another user read the dashboard link's token in the browser's command line or environment:\n${seen}`);
    // Not in its environment either, which its own user (and root) can read.
    assert.ok(!readFileSync(`/proc/${pid}/environ`, 'latin1').includes(token), 'the link is in the browser\'s environment');
    assert.doesNotMatch(seen, /\/ui\/open/);
    assert.ok(!tryAsNobody(seen).includes(303), 'nobody redeemed a dashboard link');
    // The file the browser was given is the person's alone.
    const file = argv.find((a) => a.startsWith('file:'));
    assert.ok(file, `the browser was given a local file, not the link: ${argv.join(' ')}`);
    assert.equal(asNobody(fileURLToPath(file)).ok, false, 'nobody can read the local page');
    // The person's browser opens the dashboard; the local page is gone once used.
    const opened = await rawRequest(link.href);
    assert.equal(opened.status, 303);
    assert.match(String(opened.headers['set-cookie']?.[0]), /^authsome_ui_\d+=/);
    assert.equal(existsSync(fileURLToPath(file)), false, 'the local page is removed once its link is used');
  });

  it('login --form: nobody cannot read the local form\'s one-time address; the person\'s browser opens the form', async () => {
    const { env, record } = recordingBrowser();
    const cli = startCli(['login', 'openai', '--form', '--connection', 'formed'], { env: { ...h.env, ...env } });
    try {
      const [, id] = await cli.waitForStderr(/local form \(it never leaves this computer\):\n\n {2}http:\/\/127\.0\.0\.1:\d+\/input\/([\w-]+)\n/);
      const { pid, argv } = await started(record);
      const seen = spy(pid);
      assert.ok(!seen.includes(id!), `another user read the form's one-time address:\n${seen}`);
      assert.ok(!tryAsNobody(seen).includes(200), 'nobody opened the form');
      const form = await rawRequest(openedUrl(argv));
      assert.equal(form.status, 200);
      assert.match(form.body, /<form/);
    } finally {
      cli.kill();
      await cli.done;
    }
  });

  it('login (PKCE): nobody sees no state, no code challenge and no start link; the person\'s browser logs in', async () => {
    await as.resetCounts();
    const { env, record } = recordingBrowser();
    const cli = startCli(['login', 'testas', '--connection', 'opened'], { env: { ...h.env, ...env } });
    const { pid, argv } = await started(record);
    const seen = spy(pid);
    assert.doesNotMatch(seen, /state=|code_challenge|\/auth\/start\/|\/auth\?/, `another user read the login's capabilities:\n${seen}`);
    assert.ok(!tryAsNobody(seen).some((status) => status === 303 || status === 302), 'nobody started the login');
    // The person's browser follows what it was given, to the provider and back.
    const given = argv.find((a) => /^(https?|file):/.test(a))!;
    const page = await followAuthorizationUrl(given);
    assert.equal(page.status, 200, page.html);
    assert.match(page.html, /Connected to Test AS as alice@example\.test/);
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await as.counts()).token, { authorization_code: 1 });
    assert.match(given, /^file:/, 'the browser was given a local page');
    assert.equal(existsSync(fileURLToPath(given)), false, 'the local page is removed once used');
  });
});

describe('an OAuth login is bound to the browser that started it', () => {
  it('a leaked authorization URL completed in another browser fails, clearly; the login keeps waiting and the person\'s browser completes it', async () => {
    await as.resetCounts();
    const cli = startCli(['login', 'testas', '--connection', 'bound', '--no-browser'], { env: h.env });
    const [, printed] = await cli.waitForStderr(/open this URL in a browser:\n\n {2}(\S+)/);
    // The person's browser takes the printed URL as far as the provider: that is the authorization
    // URL (state, code challenge) someone might copy from a history, a screen or a proxy log.
    const victim = new CookieJar();
    const toProvider = await browse(victim, printed!, { stopBefore: (url) => url.startsWith(as.issuer) });
    assert.equal(toProvider.status, 0, `the printed URL leads to the provider: ${toProvider.url}`);
    const leaked = toProvider.url;
    assert.match(leaked, /[?&]state=/);
    // The attacker completes it in their own browser: its callback reaches this daemon without the login's cookie.
    const attacker = await followAuthorizationUrl(leaked);
    assert.equal(attacker.status, 403, attacker.html);
    assert.match(attacker.html, /did not start this login/);
    assert.match(attacker.html, /Nothing was stored/);
    // The attacker's code was never redeemed; the login still waits, and the person's browser finishes it.
    const page = await runAutoSubmit(victim, await browse(victim, leaked));
    assert.equal(page.status, 200, page.html);
    assert.match(page.html, /Connected to Test AS as alice@example\.test/);
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Connected testas \(bound\)/);
    assert.deepEqual((await as.counts()).token, { authorization_code: 1 });
  });
});

describe('in a real browser (Chromium)', () => {
  it('the same authorization URL completed in another browser is refused; the local page leads the person\'s browser through the start link and back', async () => {
    await as.resetCounts();
    const chromium = await launchChromium();
    try {
      const { env, record } = recordingBrowser();
      // --verbose: the person's own terminal shows the authorization request; here it stands for one that leaked.
      const cli = startCli(['login', 'testas', '--connection', 'chromium', '--verbose'], { env: { ...h.env, ...env } });
      const [, leaked] = await cli.waitForStderr(/authorization request: (\S+)/);
      const { argv } = await started(record);
      const given = argv.find((a) => a.startsWith('file:'));
      assert.ok(given, `the browser was given a local page: ${argv.join(' ')}`);
      // Someone else's browser completes that authorization URL: our page refuses it, and the login waits on.
      const stranger = await (await chromium.newContext()).newPage();
      await Promise.all([stranger.waitForURL((url) => url.pathname === '/auth/callback/oauth'), stranger.goto(leaked!)]);
      await stranger.waitForLoadState('load');
      assert.match(await stranger.locator('main').innerText(), /did not start this login/);
      // The person's browser opens the page it was given: start link, provider, callback.
      const person = await (await chromium.newContext()).newPage();
      await Promise.all([person.waitForURL((url) => url.pathname === '/auth/callback/oauth'), person.goto(given)]);
      await person.waitForLoadState('load');
      assert.match(await person.locator('main').innerText(), /Connected to Test AS as alice@example\.test/);
      const result = await cli.done;
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual((await as.counts()).token, { authorization_code: 1 });
    } finally {
      await chromium.close();
    }
  });
});
