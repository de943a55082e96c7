// Proves the daemon's local input form in real headless Chromium: API keys and OAuth client credentials go through it, foreign hosts/origins/missing nonces are refused, and no secret is echoed or logged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { launchChromium } from '../support/chromium.ts';
import { runCli, runCliJson, startCli, type RunningCli } from '../support/cli.ts';
import { REPO_ROOT } from '../support/homes.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';

const FORM_URL = /local form \(it never leaves this computer\):\n\n {2}(http:\/\/127\.0\.0\.1:(\d+)\/input\/([\w-]+))\n/;
const OPENAI = JSON.parse(readFileSync(join(REPO_ROOT, 'src', 'providers', 'bundled', 'openai.json'), 'utf8')) as { api_key: { key_pattern_hint: string } };
const HINT = OPENAI.api_key.key_pattern_hint;
const canary = (prefix: string) => `${prefix}canary${randomBytes(12).toString('hex')}`;

let browser: Browser;
before(async () => (browser = await launchChromium()));
after(() => browser?.close());

/** The page-side `navigator` (no DOM lib here). */
interface Clipboarded { clipboard: { readText(): Promise<string> } }
interface FormLogin { cli: RunningCli; url: string; port: number; id: string }

async function startFormLogin(args: string[], env: Record<string, string | undefined>): Promise<FormLogin> {
  const cli = startCli(args, { env });
  const [, url, port, id] = await cli.waitForStderr(FORM_URL);
  return { cli, url: url!, port: Number(port), id: id! };
}

/** A page that records CSP violations (the nonce'd stylesheet and script must never be blocked). */
async function newPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; cspErrors: string[] }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const cspErrors: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
  });
  return { context, page, cspErrors };
}

/** Clicks Save and returns the POST's response once the page it produced has loaded. */
async function save(page: Page): Promise<Response> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
    page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame()),
    page.getByRole('button', { name: 'Save' }).click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

/** A raw HTTP request: node:http lets a test set Host and Origin, which fetch will not. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; form?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers = { ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The CLI has not exited and the daemon still holds its one open session. */
async function assertStillWaiting(cli: RunningCli, env: Record<string, string>): Promise<void> {
  const state = await Promise.race([
    cli.done.then((r) => `CLI exited ${r.code}: ${r.stderr}`),
    runCliJson<{ sessions: number }>(['daemon', 'status'], { env }).then(({ json }) => (json.sessions === 1 ? 'waiting' : `daemon holds ${json.sessions} sessions`)),
  ]);
  assert.equal(state, 'waiting');
}

describe('an API key typed into the local form', { timeout: 90_000 }, () => {
  let home: OAuthHome;
  before(async () => (home = await oauthHome()));
  after(() => home?.cleanup());

  it('is stored, never echoed back into a page, never logged, and its link works only once', async () => {
    const { cli, url, id } = await startFormLogin(['login', 'openai', '--form', '--no-browser'], home.env);
    const { context, page, cspErrors } = await newPage();
    try {
      const probe = canary('probe');
      const first = await page.goto(`${url}?probe=${probe}`);
      assert.equal(first?.status(), 200);
      const headers = first!.headers();
      assert.ok(headers['content-security-policy'], 'a CSP header');
      assert.doesNotMatch(headers['content-security-policy']!, /unsafe-inline|unsafe-eval/);
      assert.match(headers['content-security-policy']!, /script-src 'nonce-[^']+'/);
      assert.equal(headers['cache-control'], 'no-store');
      assert.equal(headers['referrer-policy'], 'same-origin');
      assert.equal(headers['access-control-allow-origin'], undefined);
      assert.equal(await page.title(), 'Connect OpenAI · authsome');
      const key = page.getByLabel('OpenAI API key');
      assert.equal(await key.getAttribute('type'), 'password');
      assert.equal(await key.getAttribute('autocomplete'), 'off');
      assert.ok(await page.getByText(HINT).isVisible(), 'the key hint is shown');

      // A value that breaks the pattern: the browser's own check stops it first…
      const bad = canary('not-a-key-');
      await key.fill(bad);
      assert.equal(await key.evaluate((input: { validity: { patternMismatch: boolean } }) => input.validity.patternMismatch), true, 'the pattern is checked in the browser');
      // …and with that check switched off, the daemon refuses it and re-renders without the value.
      await page.locator('form').evaluate((form: { noValidate: boolean }) => (form.noValidate = true));
      const refused = await save(page);
      assert.equal(refused.status(), 422);
      const refusedHtml = await refused.text();
      assert.ok(!refusedHtml.includes(bad), 'the refused secret is not in the re-rendered page');
      assert.match(await page.locator('.field-error').innerText(), new RegExp(`That does not look right\\. ${HINT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.equal(await key.getAttribute('aria-invalid'), 'true');
      assert.equal(await key.inputValue(), '', 'the password field comes back empty');
      await assertStillWaiting(cli, home.env);

      const secret = canary('sk-');
      await key.fill(secret);
      const saved = await save(page);
      assert.equal(saved.status(), 200);
      const savedHtml = await saved.text();
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '✓ Saved');
      assert.ok(!savedHtml.includes(secret) && !savedHtml.includes(bad), 'the Saved page carries no secret');

      const result = await cli.done;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Stored openai \(default\) in profile \S+\.\n$/);
      for (const out of [result.stdout, result.stderr]) assert.ok(!out.includes(secret) && !out.includes(bad), 'the CLI never prints the key');
      const shown = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { env: home.env });
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(shown.stdout.trim(), secret);

      const again = await page.goto(url);
      assert.equal(again?.status(), 410);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '✕ Link already used');
      assert.ok(!(await again!.text()).includes(secret));
      assert.deepEqual(cspErrors, [], 'no CSP violation on any page');

      const audit = readFileSync(join(home.home, 'audit.log'), 'utf8');
      assert.match(audit, /openai/);
      const daemonLog = readFileSync(join(home.home, 'logs', 'daemon.log'), 'utf8');
      for (const [name, text] of [['audit.log', audit], ['daemon.log', daemonLog]] as const) {
        for (const value of [secret, bad, id, probe]) assert.ok(!text.includes(value), `${name} must not contain ${value.slice(0, 12)}…`);
      }
      const formLines = daemonLog.split('\n').filter((line) => line.includes('/input/'));
      assert.deepEqual(formLines.map((line) => line.replace(/^\S+ /, '').replace(/ in \d+ ms$/, '')), [
        'GET /input/… → 200', 'POST /input/… → 422', 'POST /input/… → 200', 'GET /input/… → 410',
      ]);
    } finally {
      await context.close();
      cli.kill();
    }
  });

  it('refuses before showing a form when the connection exists, and never says Saved for a key it did not store', async () => {
    const refused = await runCli(['login', 'openai', '--form', '--no-browser'], { env: home.env });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already has a connection "default"; it was not overwritten/);
    assert.doesNotMatch(refused.stderr, /local form/);

    // Under another connection name the key is stored, and only then does the page say so.
    const { cli, url } = await startFormLogin(['login', 'openai', '--form', '--no-browser', '--connection', 'second'], home.env);
    const { context, page } = await newPage();
    try {
      await page.goto(url);
      const secret = canary('sk-');
      await page.getByLabel('OpenAI API key').fill(secret);
      const saved = await save(page);
      assert.equal(saved.status(), 200);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '✓ Saved');
      assert.match(await page.locator('main').innerText(), /Saved the openai API key as connection "second"/);
      assert.equal((await cli.done).code, 0);
    } finally {
      await context.close();
      cli.kill();
    }
  });
});

describe('requests the form refuses', { timeout: 90_000 }, () => {
  let home: OAuthHome;
  let login: FormLogin;
  let csrf: string;
  before(async () => {
    home = await oauthHome();
    login = await startFormLogin(['login', 'openai', '--form', '--no-browser'], home.env);
    const page = await raw(login.url);
    csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  });
  after(async () => {
    login?.cli.kill();
    await home?.cleanup();
  });
  const own = () => `http://127.0.0.1:${login.port}`;

  it('a post without the security token gets 403 and the login keeps waiting', async () => {
    const res = await raw(login.url, { method: 'POST', headers: { origin: own() }, form: { api_key: canary('sk-') } });
    assert.equal(res.status, 403);
    assert.match(res.body, /missing its security token/);
    const wrong = await raw(login.url, { method: 'POST', headers: { origin: own() }, form: { csrf: 'A'.repeat(csrf.length), api_key: canary('sk-') } });
    assert.equal(wrong.status, 403);
    await assertStillWaiting(login.cli, home.env);
  });

  it('a post from a foreign Origin gets 403, even with the right token', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${login.port + 1}`]) {
      const res = await raw(login.url, { method: 'POST', headers: { origin }, form: { csrf, api_key: canary('sk-') } });
      assert.equal(res.status, 403, origin);
      assert.match(res.body, /can only be submitted from its own page/);
    }
    await assertStillWaiting(login.cli, home.env);
  });

  it('a request under a foreign Host (DNS rebinding) gets 421 and no form', async () => {
    const host = `evil.example:${login.port}`;
    const get = await raw(login.url, { headers: { host } });
    assert.equal(get.status, 421);
    assert.ok(!get.body.includes(csrf), 'the token is not served to a foreign host');
    const post = await raw(login.url, { method: 'POST', headers: { host, origin: `http://${host}` }, form: { csrf, api_key: canary('sk-') } });
    assert.equal(post.status, 421);
    await assertStillWaiting(login.cli, home.env);
  });

  it('a page on another origin that auto-submits a form to the daemon is refused, and nothing is stored', async () => {
    const attack = canary('sk-attacker');
    const site = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<!doctype html><form method="post" action="${login.url}"><input name="csrf" value="guessed-${csrf.slice(0, 8)}">` +
          `<input name="api_key" value="${attack}"></form><script>document.forms[0].submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const siteOrigin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    const { context, page, cspErrors } = await newPage();
    try {
      const posted = page.waitForResponse((r) => r.url() === login.url && r.request().method() === 'POST');
      await page.goto(siteOrigin);
      const response = await posted;
      assert.equal(await response.request().headerValue('origin'), siteOrigin, 'Chromium sent the attacking origin');
      assert.equal(response.status(), 403);
      await page.waitForLoadState('load');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '✕ Request refused');
      await assertStillWaiting(login.cli, home.env);
      const stored = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { env: home.env });
      assert.notEqual(stored.code, 0, 'nothing stored yet');

      // The person then uses the real page: their key is stored, the attacker's never was.
      const secret = canary('sk-');
      await page.goto(login.url);
      await page.getByLabel('OpenAI API key').fill(secret);
      assert.equal((await save(page)).status(), 200);
      const result = await login.cli.done;
      assert.equal(result.code, 0, result.stderr);
      const shown = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { env: home.env });
      assert.equal(shown.stdout.trim(), secret);
      assert.deepEqual(cspErrors, []);
    } finally {
      await context.close();
      site.close();
    }
  });
});

describe('OAuth client credentials typed into the local form', { timeout: 120_000 }, () => {
  let as: AuthServer;
  let home: OAuthHome;
  let env: Record<string, string | undefined>;
  const running: RunningCli[] = [];
  before(async () => {
    as = await startAuthServer();
    home = await oauthHome();
    await home.register(testProvider(as));
    env = { ...home.env, TESTAS_CLIENT_ID: undefined };
  });
  after(async () => {
    for (const cli of running) cli.kill();
    await home?.cleanup();
    await as?.close();
  });

  it('shows the redirect URI to register, takes a public client ID, finishes the login, and is not asked for again', async () => {
    const login = await startFormLogin(['login', 'testas'], env);
    running.push(login.cli);
    const { context, page, cspErrors } = await newPage({ permissions: ['clipboard-read', 'clipboard-write'] });
    try {
      assert.equal((await page.goto(login.url))?.status(), 200);
      const redirectUri = `http://127.0.0.1:${login.port}/auth/callback/oauth`;
      assert.equal(await page.locator('code#redirect-uri').innerText(), redirectUri);
      const copy = page.getByRole('button', { name: 'Copy redirect URI' });
      assert.equal(await copy.getAttribute('data-copy'), redirectUri);
      assert.ok(await copy.isVisible(), 'the nonce\'d script ran and showed the Copy button');
      await copy.click();
      await page.locator('#copy-status', { hasText: 'Copied' }).waitFor({ state: 'attached' });
      assert.equal(await page.evaluate(() => (globalThis as unknown as { navigator: Clipboarded }).navigator.clipboard.readText()), redirectUri);

      assert.equal(await page.getByLabel('Client secret').getAttribute('type'), 'password');
      await page.getByLabel('Client ID').fill('authsome-public');
      const saved = await save(page);
      assert.equal(saved.status(), 200);
      // Not "Saved": the client is stored only if the OAuth login that follows succeeds.
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '✓ Received');
      assert.deepEqual(cspErrors, []);
    } finally {
      await context.close();
    }
    const result = await login.cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Connected testas \(default\)/);
    const { code, json } = await runCliJson<{ status: string }>(['get', 'testas'], { env });
    assert.equal(code, 0);
    assert.equal(json.status, 'connected');

    const second = startCli(['login', 'testas', '--force', '--connection', 'two'], { env });
    running.push(second);
    const outcome = await Promise.race([
      second.done,
      second.waitForStderr(FORM_URL).then(() => {
        throw new Error('the form was shown again: the client entered in the first login was not remembered');
      }),
    ]);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /^Connected testas \(two\)/);
  });
});
