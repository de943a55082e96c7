// Proves the dashboard (`authsome ui`) in real headless Chromium against the real test authorization
// server: the one-time link and its cookie, what the page shows for a real OAuth connection, the
// actions (refresh, make default, disconnect, connect by OAuth and by API key, register), the
// filters, the guards (Host, Origin, CSRF, no CORS) — and that no token ever reaches a page or an API answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { launchChromium } from '../support/chromium.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';

const canary = (prefix: string) => `${prefix}canary${randomBytes(12).toString('hex')}`;

/** A raw HTTP request: node:http lets a test set Host and Origin, which a browser will not. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; form?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers = { ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the dashboard', { timeout: 180_000 }, () => {
  let browser: Browser;
  let as: AuthServer;
  let home: OAuthHome;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  const cookieName = () => `authsome_ui_${new URL(origin).port}`;
  let apiKey: string;
  let secondKey: string;
  const cspErrors: string[] = [];
  /** Keys stored during the tests, canaries like the first two. */
  const extraCanaries: string[] = [];
  /** Every body the daemon served under /ui (pages, redirects, JSON), for the canary check at the end. */
  const served: string[] = [];
  const bodies = mkdtempSync(join(tmpdir(), 'dash-bodies-'));

  const link = async () => {
    const { code, json, stderr } = await runCliJson<{ url: string; expires_at: string; opened: boolean }>(['ui', '--no-browser'], { env: home.env });
    assert.equal(code, 0, stderr);
    assert.equal(json.opened, false);
    return json.url;
  };
  const row = (key: string) => page.locator(`tr[data-row="${key}"]`);
  const notice = () => page.locator('#notice');
  /** Submits a form by clicking `button` and resolves once the page it leads to has loaded. */
  const act = async (button: ReturnType<Page['getByRole']>) => {
    await Promise.all([page.waitForNavigation(), button.click()]);
    await page.waitForLoadState('load');
  };
  const cookieHeader = async () => {
    const cookie = (await context.cookies(`${origin}/ui`)).find((c) => c.name === cookieName());
    assert.ok(cookie, 'the session cookie is set');
    return `${cookieName()}=${cookie.value}`;
  };
  const csrf = async () => (await page.locator('input[name="csrf"]').first().getAttribute('value'))!;
  const record = (body: string) => served.push(body);

  before(async () => {
    browser = await launchChromium();
    as = await startAuthServer();
    // No background refresh during the test: every refresh seen here is one the page asked for.
    home = await oauthHome({ AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
    await home.register(testProvider(as));
    // A real OAuth connection first, made by the CLI with the simulated browser (PKCE against the test server).
    const login = await runCli(['login', 'testas'], { env: home.env });
    assert.equal(login.code, 0, login.stderr);
    apiKey = canary('sk-');
    secondKey = canary('sk-');
    for (const [connection, key] of [['default', apiKey], ['work', secondKey]] as const) {
      const stored = await runCli(['login', 'openai', '--api-key-stdin', '--connection', connection], { env: home.env, input: key });
      assert.equal(stored.code, 0, stored.stderr);
    }
    context = await browser.newContext();
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
    });
    page.on('response', async (response) => {
      if (!origin || !response.url().startsWith(origin)) return;
      record(await response.text().catch(() => ''));
    });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await home?.cleanup();
    await as?.close();
    rmSync(bodies, { recursive: true, force: true });
  });

  it('opens through the one-time URL with an HttpOnly, SameSite=Strict cookie, and shows the OAuth connection', async () => {
    const url = await link();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/ui\/open\?t=[\w-]{43}$/);
    origin = new URL(url).origin;
    const opened = await page.goto(url);
    assert.equal(opened?.status(), 200);
    assert.equal(page.url(), `${origin}/ui`);
    const redirect = await opened!.request().redirectedFrom()!.response();
    assert.equal(redirect?.status(), 303);
    const setCookie = (await redirect!.headerValue('set-cookie'))!;
    // Named after the daemon's port: browsers share cookies among the ports of 127.0.0.1.
    assert.match(setCookie, new RegExp(`^${cookieName()}=[\\w-]{43}; Path=/ui; HttpOnly; SameSite=Strict$`));
    const [cookie] = (await context.cookies(`${origin}/ui`)).filter((c) => c.name === cookieName());
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(cookie?.path, '/ui');
    const headers = opened!.headers();
    assert.equal(headers['cache-control'], 'no-store');
    assert.match(headers['content-security-policy']!, /script-src 'nonce-[^']+'/);
    assert.equal(headers['access-control-allow-origin'], undefined);

    assert.equal(await page.title(), 'Connections · authsome');
    const testas = row('testas/default');
    assert.equal(await testas.getAttribute('data-state'), 'connected');
    assert.match(await testas.locator('td[data-label="Account"]').innerText(), /alice@example\.test/);
    assert.match(await testas.locator('td[data-label="Scopes"]').innerText(), /\bopenid\b.*\bemail\b/);
    // The countdown is the page's script at work: "in 59:59" or "in 1 h 00 min", never the server's "in 60 min".
    await page.waitForFunction(() => /^in (\d+:\d\d|1 h \d\d min)$/.test((globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } })
      .document.querySelector('tr[data-row="testas/default"] [data-countdown]')?.textContent ?? ''));
    assert.equal(await testas.locator('td[data-label="Last refresh"]').innerText(), 'never');
    // API keys appear masked to their prefix, and the default connection is marked.
    const openai = row('openai/default');
    assert.equal(await openai.locator('code[aria-label="credential, masked"]').innerText(), 'sk-****');
    assert.match(await openai.locator('td[data-label="Connection"]').innerText(), /default/);
    assert.equal(await openai.getByRole('button', { name: 'Make openai (default) the default' }).count(), 0);
    assert.equal(await row('openai/work').getByRole('button', { name: 'Make openai (work) the default' }).count(), 1);
    // Accessibility basics: a skip link first, labelled filter inputs, a table with row headers.
    assert.equal(await page.locator('body > a').first().getAttribute('href'), '#main');
    assert.equal(await page.getByLabel('Search', { exact: true }).count(), 1);
    assert.equal(await page.getByLabel('State', { exact: true }).count(), 1);
    assert.ok((await page.locator('th[scope="row"]').count()) > 80, 'every provider has a row');
  });

  it('refuses the one-time URL the second time, and the pages without the cookie', async () => {
    const url = await link();
    const other = await browser.newContext();
    try {
      const tab = await other.newPage();
      assert.equal((await tab.goto(url))?.status(), 200);
      const again = await tab.goto(url);
      assert.equal(again?.status(), 410);
      assert.equal(await tab.getByRole('heading', { level: 1 }).innerText(), '✕ Link already used');
      const fresh = await browser.newContext();
      const stranger = await fresh.newPage();
      assert.equal((await stranger.goto(url))?.status(), 410, 'a used link stays used in another browser too');
      assert.equal((await stranger.goto(`${origin}/ui`))?.status(), 401);
      assert.equal((await stranger.goto(`${origin}/ui/open?t=${'A'.repeat(43)}`))?.status(), 403);
      await fresh.close();
    } finally {
      await other.close();
    }
    const api = await raw(`${origin}/ui/api/state`);
    assert.equal(api.status, 401);
  });

  it('shows your connections first, and filters the catalogue below them in the page and on the server', async () => {
    const headings = await page.getByRole('heading', { level: 2 }).allInnerTexts();
    assert.deepEqual(headings.slice(0, 2), ['Your connections', 'Add a connection']);
    const mine = () => page.locator('#mine tr[data-row]').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { row: string } }).dataset.row));
    assert.deepEqual(await mine(), ['openai/default', 'openai/work', 'testas/default']);
    const total = await page.locator('#catalogue tr[data-state]').count();
    assert.ok(total > 80, 'the whole catalogue is below');
    await page.getByLabel('State', { exact: true }).selectOption('connected');
    await page.locator('#filter-count', { hasText: `2 of ${total} shown` }).waitFor();
    assert.deepEqual(await page.locator('#catalogue tr[data-state]:visible').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { row: string } }).dataset.row)),
      ['openai/', 'testas/']);
    await page.getByLabel('Search', { exact: true }).fill('test');
    await page.locator('#filter-count', { hasText: `1 of ${total} shown` }).waitFor();
    assert.equal(await row('testas/').isVisible(), true);
    assert.equal(await row('openai/').isVisible(), false);
    assert.equal(await row('openai/default').isVisible(), true, 'the filter is the catalogue\'s: your connections stay');

    await page.goto(`${origin}/ui?state=available`);
    assert.equal(await row('testas/').isHidden(), true);
    assert.equal(await row('github/').isVisible(), true);
    assert.deepEqual(await mine(), ['openai/default', 'openai/work', 'testas/default']);
    const state = await page.request.get(`${origin}/ui/api/state?state=connected`);
    const json = (await state.json()) as { providers: Array<{ name: string; connections: Array<{ connection: string; state: string }> }> };
    assert.deepEqual(json.providers.map((p) => [p.name, p.connections.map((c) => `${c.connection}:${c.state}`)]), [
      ['openai', ['default:connected', 'work:connected']], ['testas', ['default:connected']],
    ]);
  });

  it('says how to use each connection: lines to copy that work and hold no secret', async () => {
    await page.goto(`${origin}/ui`);
    const lines = async (key: string) => {
      const usage = page.locator(`tr[data-usage-for="${key}"]`);
      await usage.locator('summary').click();
      return usage.locator('pre').allInnerTexts();
    };
    const openai = await lines('openai/work');
    assert.deepEqual(openai.slice(0, 4), [
      'authsome get openai --connection work --field status',
      'eval "$(authsome export openai --connection work --format shell)" # sets OPENAI_API_KEY',
      'authsome run --connection openai=work -- curl https://api.openai.com/',
      'authsome headers openai --connection work --json',
    ]);
    const apiHost = new URL(as.apiUrl).host;
    const testas = await lines('testas/default');
    assert.deepEqual(testas, [
      'authsome get testas --field status',
      'eval "$(authsome export testas --format shell)" # sets TESTAS_TOKEN',
      `authsome run -- curl https://${apiHost}/`,
      'authsome headers testas --json',
      `import { Authsome } from 'authsome-cli';\nconst authsome = new Authsome();\nconst response = await authsome.fetch('https://${apiHost}/');`,
    ]);
    // Each Copy button carries exactly the line shown.
    const copies = await page.locator('tr[data-usage-for="testas/default"] button[data-copy]').evaluateAll((buttons) => buttons.map((b) => (b as unknown as { dataset: { copy: string } }).dataset.copy));
    assert.deepEqual(copies, testas);
    // No line holds a secret: not the key, not a token.
    const shown = [...openai, ...testas, ...copies].join('\n');
    for (const secret of [apiKey, secondKey, ...(await as.issuedTokens())]) assert.ok(!shown.includes(secret), 'a usage line holds a secret');
    // The lines work as shown: the CLI ones run as they are.
    const status = await runCli(openai[0]!.split(' ').slice(1), { env: home.env });
    assert.equal(status.stdout.trim(), 'connected', status.stderr);
    const headers = await runCliJson<Record<string, unknown>>(openai[3]!.split(' ').slice(1), { env: home.env });
    assert.equal(headers.code, 0, headers.stderr);
    const exported = /^eval "\$\(authsome (.*)\)" # sets TESTAS_TOKEN$/.exec(testas[1]!);
    const shell = await runCli(exported![1]!.split(' '), { env: home.env });
    assert.equal(shell.code, 0, shell.stderr);
    assert.match(shell.stdout, /^export TESTAS_TOKEN=/m, 'the variable the line names is the one export sets');
  });

  it('shows no expiry or refresh fields on API-key rows', async () => {
    await page.goto(`${origin}/ui`);
    for (const key of ['openai/default', 'openai/work']) {
      assert.equal(await row(key).locator('td[data-label="Expires"], td[data-label="Last refresh"], [data-countdown]').count(), 0, key);
      assert.doesNotMatch(await row(key).innerText(), /never|expire/i, key);
    }
    assert.equal(await row('testas/default').locator('td[data-label="Expires"] [data-countdown]').count(), 1, 'an OAuth row keeps them');
    assert.equal(await row('testas/default').locator('td[data-label="Last refresh"]').count(), 1);
  });

  it('forces a refresh and shows the new expiry', async () => {
    await makeDue(home.home, 'testas');
    await page.goto(`${origin}/ui`);
    const testas = row('testas/default');
    assert.equal(await testas.getAttribute('data-state'), 'expired');
    const before = (await testas.locator('[data-countdown]').getAttribute('data-countdown'))!;
    assert.ok(Date.parse(before) < Date.now());
    await as.resetCounts();
    await act(testas.getByRole('button', { name: 'Refresh testas (default)' }));
    assert.match(await notice().innerText(), /^Refreshed testas \(default\); the access token expires at /);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), 'notice', 'the result has focus');
    const after = (await row('testas/default').locator('[data-countdown]').getAttribute('data-countdown'))!;
    assert.equal(await row('testas/default').getAttribute('data-state'), 'connected');
    assert.ok(Date.parse(after) > Date.now() + 50 * 60_000, `the new expiry ${after} is about an hour away`);
    assert.notEqual(await row('testas/default').locator('td[data-label="Last refresh"]').innerText(), 'never');
    assert.equal((await as.counts()).token.refresh_token, 1, 'exactly one refresh at the token endpoint');
    const { json } = await runCliJson<{ expires_at: string }>(['get', 'testas'], { env: home.env });
    assert.equal(new Date(json.expires_at).toISOString(), after, 'the page shows what the store holds');
  });

  it('makes another connection the default', async () => {
    await act(row('openai/work').getByRole('button', { name: 'Make openai (work) the default' }));
    assert.equal(await notice().innerText(), 'openai now uses connection work by default.');
    assert.match(await row('openai/work').locator('td[data-label="Connection"]').innerText(), /work\s+default/);
    const shown = await runCli(['get', 'openai', '--field', 'connection'], { env: home.env });
    assert.equal(shown.stdout.trim(), 'work');
  });

  it('disconnects the OAuth connection, revoking it at the provider', async () => {
    const [token] = (await runCli(['get', 'testas', '--field', 'refresh_token', '--show-secret'], { env: home.env })).stdout.split('\n');
    assert.equal(await as.isActive(token!), true);
    const dialog = page.waitForEvent('dialog').then(async (d) => {
      const message = d.message();
      await d.accept();
      return message;
    });
    await act(row('testas/default').getByRole('button', { name: 'Disconnect testas (default)' }));
    assert.match(await dialog, /^Disconnect testas \(default\)\?/);
    assert.match(await notice().innerText(), /^Disconnected testas \(default\)\./);
    assert.equal(await row('testas/default').count(), 0);
    assert.match((await row('testas/').getAttribute('data-state'))!, /^(available|configured)$/);
    assert.equal(await as.isActive(token!), false, 'the refresh token was revoked at the server');
    const gone = await runCli(['get', 'testas'], { env: home.env });
    assert.equal(gone.code, 5);
  });

  it('connects an OAuth provider through the authorization server and back', async () => {
    await page.getByLabel('Provider', { exact: true }).selectOption('testas');
    // Connect → /ui/connect/<id> → on to the authorization server (auto-approving) → our callback page.
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/auth/callback/oauth'),
      page.getByRole('button', { name: 'Connect', exact: true }).click(),
    ]);
    await page.waitForLoadState('load');
    assert.match(await page.locator('main').innerText(), /^✓ Connected\s+Connected to Test AS as alice@example\.test\./);
    await act(page.getByRole('link', { name: 'Back to the dashboard' }));
    assert.match(await notice().innerText(), /^Connected testas \(default\) as alice@example\.test\.$/);
    assert.equal(await row('testas/default').getAttribute('data-state'), 'connected');
    const { json } = await runCliJson<{ status: string }>(['get', 'testas'], { env: home.env });
    assert.equal(json.status, 'connected');
  });

  it('connects an API-key provider through the local form', async () => {
    await page.getByLabel('Provider', { exact: true }).selectOption('openai');
    await page.getByLabel('Connection name').fill('third');
    await act(page.getByRole('button', { name: 'Connect', exact: true }));
    assert.match(new URL(page.url()).pathname, /^\/input\//);
    const key = canary('sk-');
    await page.getByLabel('OpenAI API key').fill(key);
    await act(page.getByRole('button', { name: 'Save' }));
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '✓ Saved');
    await act(page.getByRole('link', { name: 'Back to the dashboard' }));
    assert.equal(await notice().innerText(), 'Saved the openai API key as connection "third".');
    assert.equal(await row('openai/third').getAttribute('data-state'), 'connected');
    const shown = await runCli(['get', 'openai', '--connection', 'third', '--field', 'api_key', '--show-secret'], { env: home.env });
    assert.equal(shown.stdout.trim(), key);
    extraCanaries.push(key);
  });

  it('registers a pasted provider definition, with each problem shown next to the field', async () => {
    await page.goto(`${origin}/ui/register`);
    const field = page.getByLabel('Provider definition (JSON)');
    const bad = JSON.stringify({ name: 'Bad Name', auth_type: 'oauth2', flow: 'api_key' });
    await field.fill(bad);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/ui/actions/register')),
      page.getByRole('button', { name: 'Register' }).click(),
    ]);
    assert.equal(refused.status(), 422);
    await page.waitForLoadState('load');
    const problems = await page.locator('#definition-error li').allInnerTexts();
    assert.ok(problems.some((p) => /^name: must be lower-case letters/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /^flow: api_key flow needs auth_type "api_key"/.test(p)), problems.join('\n'));
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.match((await field.getAttribute('aria-describedby'))!, /definition-error/);
    assert.equal(await field.inputValue(), bad, 'the pasted text is kept for fixing');
    assert.equal(await field.evaluate((el) => (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement === el), true, 'focus is on the field');

    await field.fill('{ "name": "broken", ');
    await act(page.getByRole('button', { name: 'Register' }));
    assert.match((await page.locator('#definition-error li').allInnerTexts())[0]!, /^Line 1, column \d+: /);

    await field.fill(JSON.stringify({ name: 'pasted-api', display_name: 'Pasted API', auth_type: 'api_key', flow: 'api_key', host_url: 'api.pasted.test' }));
    await act(page.getByRole('button', { name: 'Register' }));
    assert.equal(new URL(page.url()).search, '?q=pasted-api');
    assert.equal(await notice().innerText(), 'Registered pasted-api.');
    assert.equal(await row('pasted-api/').isVisible(), true);
    const inspected = await runCliJson<{ source: string }>(['inspect', 'pasted-api'], { env: home.env });
    assert.equal(inspected.json.source, 'custom');

    // A field no schema knows is registered all the same, as by `authsome register`, and said by its path.
    await page.goto(`${origin}/ui/register`);
    await field.fill(JSON.stringify({ name: 'pasted-typo', auth_type: 'api_key', flow: 'api_key', host_ulr: 'api.typo.test' }));
    await act(page.getByRole('button', { name: 'Register' }));
    assert.equal(await notice().innerText(), 'Registered pasted-typo. Warning: unknown field host_ulr (did you mean host_url?); it is kept, but authsome does not use it.');

    // Overriding a definition (which names where refresh tokens go) is never done from the browser,
    // even when the request asks for it: that stays `authsome register --force` in a terminal.
    const override = await page.evaluate(async (body) => {
      const csrf = (document.querySelector('input[name="csrf"]') as HTMLInputElement).value;
      const response = await fetch('/ui/actions/register', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ ...body, csrf }) });
      return { status: response.status, json: await response.json() };
    }, { definition: JSON.stringify({ name: 'github', auth_type: 'api_key', flow: 'api_key', host_url: 'evil.example.test' }), force: '1' });
    assert.equal(override.status, 409, JSON.stringify(override.json));
    assert.match(override.json.hint, /authsome register <file> --force/);
    assert.equal((await runCliJson<{ source: string }>(['inspect', 'github'], { env: home.env })).json.source, 'bundled');
  });

  it('refuses a post without the CSRF token, from another origin, or under a foreign Host, and sends no CORS headers', async () => {
    await page.goto(`${origin}/ui`);
    const cookie = await cookieHeader();
    const token = await csrf();
    const action = `${origin}/ui/actions/disconnect`;
    const target = { provider: 'openai', connection: 'work' };

    const noToken = await raw(action, { method: 'POST', headers: { cookie, origin }, form: target });
    assert.equal(noToken.status, 403);
    const wrongToken = await raw(action, { method: 'POST', headers: { cookie, origin, 'x-csrf-token': 'A'.repeat(token.length) }, form: target });
    assert.equal(wrongToken.status, 403);
    for (const foreign of ['http://evil.example', 'null', `http://127.0.0.1:${Number(new URL(origin).port) + 1}`]) {
      const res = await raw(action, { method: 'POST', headers: { cookie, origin: foreign }, form: { ...target, csrf: token } });
      assert.equal(res.status, 403, foreign);
    }
    const noOrigin = await raw(action, { method: 'POST', headers: { cookie }, form: { ...target, csrf: token } });
    assert.equal(noOrigin.status, 403);
    const host = `evil.example:${new URL(origin).port}`;
    for (const path of ['/ui', '/ui/api/state']) {
      const res = await raw(`${origin}${path}`, { headers: { host, cookie } });
      assert.equal(res.status, 421, path);
      assert.ok(!res.body.includes(token));
    }
    assert.equal((await raw(action, { method: 'POST', headers: { host, cookie, origin: `http://${host}` }, form: { ...target, csrf: token } })).status, 421);
    const crossRead = await raw(`${origin}/ui/api/state`, { headers: { cookie, 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1' } });
    assert.equal(crossRead.status, 403);
    const api = await raw(`${origin}/ui/api/state`, { headers: { cookie, origin: 'http://evil.example' } });
    assert.equal(api.status, 200);
    assert.equal(api.headers['access-control-allow-origin'], undefined);
    record(api.body);

    // A page on another port of 127.0.0.1 is same-site: Chromium sends the Strict cookie with its
    // auto-submitted form. The Origin check and the CSRF token are what stop it.
    const site = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<!doctype html><form method="post" action="${action}"><input name="csrf" value="guessed"><input name="provider" value="openai">` +
          `<input name="connection" value="work"></form><script>document.forms[0].submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const attacker = await context.newPage();
    try {
      const siteOrigin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
      const posted = attacker.waitForResponse((r) => r.url() === action && r.request().method() === 'POST');
      await attacker.goto(siteOrigin);
      const response: Response = await posted;
      assert.equal(await response.request().headerValue('origin'), siteOrigin);
      assert.match((await response.request().headerValue('cookie')) ?? '', new RegExp(`${cookieName()}=`), 'the cookie went along (same site)');
      assert.equal(response.status(), 403);
    } finally {
      await attacker.close();
      site.close();
    }
    const still = await runCli(['get', 'openai', '--connection', 'work', '--field', 'status'], { env: home.env });
    assert.equal(still.stdout.trim(), 'connected', 'nothing was disconnected');
  });

  it('shows the audit log with filters, the refresh chart and the proxy counts', async () => {
    // A run whose child makes two plain-HTTP requests through the proxy (to a name that never
    // resolves: the proxy answers 502) records them per host in its audit entry.
    const child = "const get = (n) => require('http').get('http://dash.invalid/ping', (r) => { r.resume(); r.on('end', () => (n > 1 ? get(n - 1) : process.exit(0))); }).on('error', () => process.exit(3)); get(2);";
    const run = await runCli(['run', '--', process.execPath, '-e', child], { env: home.env });
    assert.equal(run.code, 0, run.stderr);
    await page.goto(`${origin}/ui/log`);
    assert.equal(await page.title(), 'Audit log · authsome');
    const chart = page.getByRole('img', { name: /Refreshes per hour/ });
    assert.match((await chart.getAttribute('aria-labelledby'))!, /chart-desc/);
    assert.match(await page.locator('#chart-desc').textContent() ?? '', /^1 refreshes succeeded and 0 failed, per hour/);
    assert.equal(await page.locator('.chart rect.ok-bar').count(), 1);
    // The range the chart states is the span its bars cover, and the refreshes it counts lie in it.
    const [from, to] = (await page.locator('#chart-range time').evaluateAll((times) => times.map((t) => (t as unknown as { getAttribute(n: string): string }).getAttribute('datetime')))).map((iso) => Date.parse(iso));
    const bars = await page.locator('.chart svg > g').count();
    assert.equal(to! - from!, bars * 3_600_000, 'the label spans every bar, the newest hour included');
    assert.ok(Date.now() < to! && Date.now() >= to! - 3_600_000, 'it ends with the hour now in progress');
    assert.match(await page.locator('#chart-range').innerText(), /^Per hour \(UTC\), \d{4}-\d\d-\d\d \d\d:00 to \d{4}-\d\d-\d\d \d\d:00 UTC$/);
    assert.ok((await page.locator('#chart-desc').textContent())!.endsWith(`to ${new Date(to!).toISOString().slice(0, 16).replace('T', ' ')} UTC.`));
    const refreshes = (await (await page.request.get(`${origin}/ui/api/log?event=refresh`)).json()) as { rows: Array<{ timestamp: string }> };
    assert.ok(refreshes.rows.length > 0 && refreshes.rows.every((r) => Date.parse(r.timestamp) >= from! && Date.parse(r.timestamp) < to!));

    await page.getByLabel('Event').selectOption('refresh');
    await page.getByLabel('Outcome').selectOption('success');
    await act(page.getByRole('button', { name: 'Apply' }));
    const events = await page.locator('tbody tr[data-event]').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { event: string } }).dataset.event));
    assert.deepEqual(events, ['refresh']);
    await page.getByLabel('Outcome').selectOption('failure');
    await act(page.getByRole('button', { name: 'Apply' }));
    assert.equal(await page.locator('tbody tr[data-event]').count(), 0);
    await page.goto(`${origin}/ui/log?provider=openai`);
    const providers = await page.locator('tbody tr[data-event] td[data-label="Provider"]').allInnerTexts();
    assert.ok(providers.length >= 3 && providers.every((p) => p.split(', ').includes('openai')), providers.join('|'));
    await page.goto(`${origin}/ui/log?range=1h&to=2000-01-01T00:00`);
    assert.equal(await page.locator('tbody tr[data-event]').count(), 0, 'nothing before 2000');

    const log = (await (await page.request.get(`${origin}/ui/api/log?event=run`)).json()) as { rows: Array<{ event: string }>; proxy: unknown[] };
    assert.deepEqual(log.rows.map((r) => r.event), ['run']);
    assert.deepEqual(log.proxy, [{ host: 'dash.invalid', requests: 2, runs: 1, intercepted: false }]);
    await page.goto(`${origin}/ui/log`);
    assert.deepEqual(await page.getByRole('table', { name: 'Proxy requests per host' }).locator('tbody tr').allInnerTexts(), ['dash.invalid\t2\t1\tno (tunnelled)']);
    assert.deepEqual(cspErrors, [], 'no CSP violation on any page');
  });

  it('leads back to your connections from every form: connect (API key, OAuth client), register', async () => {
    // The API-key form the dashboard opened.
    await page.goto(`${origin}/ui`);
    await page.getByLabel('Provider', { exact: true }).selectOption('anthropic');
    await act(page.getByRole('button', { name: 'Connect', exact: true }));
    assert.match(new URL(page.url()).pathname, /^\/input\//);
    await act(page.getByRole('link', { name: 'Cancel and go back to your connections' }));
    assert.equal(new URL(page.url()).pathname, '/ui');
    assert.equal(await row('anthropic/default').count(), 0, 'nothing was stored');

    // The OAuth client form: a provider whose client the daemon's environment does not give.
    await home.register(testProvider(as, { name: 'testas-noclient', display_name: 'Test AS (no client)', client: { client_id_env: 'TESTAS_NOCLIENT_ID', client_secret_env: 'TESTAS_NOCLIENT_SECRET' } }));
    await page.goto(`${origin}/ui`);
    await page.getByLabel('Provider', { exact: true }).selectOption('testas-noclient');
    await act(page.getByRole('button', { name: 'Connect', exact: true }));
    assert.match(new URL(page.url()).pathname, /^\/input\//);
    assert.equal(await page.getByLabel('Client ID').count(), 1, 'the client form');
    await act(page.getByRole('link', { name: 'Cancel and go back to your connections' }));
    assert.equal(new URL(page.url()).pathname, '/ui');

    // Register.
    await page.goto(`${origin}/ui/register`);
    await act(page.getByRole('link', { name: 'Back to your connections' }));
    assert.equal(new URL(page.url()).pathname, '/ui');
  });

  it('switches profile to show another profile\'s connections, read-only, through a validated GET parameter', async () => {
    const created = await runCli(['profile', 'create', 'side'], { env: home.env });
    assert.equal(created.code, 0, created.stderr);
    const key = canary('sk-');
    extraCanaries.push(key);
    const stored = await runCli(['login', 'openai', '--api-key-stdin', '--connection', 'personal', '--profile', 'side'], { env: home.env, input: key });
    assert.equal(stored.code, 0, stored.stderr);

    await page.goto(`${origin}/ui`);
    assert.equal(await row('openai/personal').count(), 0);
    await page.getByLabel('Profile', { exact: true }).selectOption('side');
    await act(page.getByRole('button', { name: 'Show' }));
    assert.equal(new URL(page.url()).search, '?profile=side');
    assert.match(await page.locator('main').innerText(), /Profile side\b/);
    assert.deepEqual(await page.locator('#mine tr[data-row]').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { row: string } }).dataset.row)), ['openai/personal']);
    assert.equal(await row('openai/personal').locator('code[aria-label="credential, masked"]').innerText(), 'sk-****');
    await page.locator('tr[data-usage-for="openai/personal"] summary').click();
    const lines = await page.locator('tr[data-usage-for="openai/personal"] pre').allInnerTexts();
    assert.equal(lines[0], 'authsome get openai --connection personal --field status --profile side');
    const status = await runCli(lines[0]!.split(' ').slice(1), { env: home.env });
    assert.equal(status.stdout.trim(), 'connected', status.stderr);
    // Viewing changes nothing: no action forms for a profile the daemon does not act on.
    assert.equal(await page.locator('form[method="post"]').count(), 0);
    assert.match(await page.getByRole('note').innerText(), /shown read-only: this daemon acts on profile default/);
    await act(page.getByRole('link', { name: 'go back to default' }));
    assert.equal(await row('openai/personal').count(), 0);

    // The parameter is a name, and one the home has.
    for (const [bad, status] of [['..%2F..%2Fetc', 400], ['nope', 404]] as const) {
      const res = await page.request.get(`${origin}/ui?profile=${bad}`);
      assert.equal(res.status(), status, bad);
      const api = await page.request.get(`${origin}/ui/api/state?profile=${bad}`);
      assert.equal(api.status(), status, bad);
    }
  });

  it('never serves a token or key: every page and API answer passes the canary check', async () => {
    // The JSON API answers too, read with the page's cookie.
    for (const path of ['/ui/api/state', '/ui/api/log', '/ui/api/state?state=connected']) {
      const res = await page.request.get(`${origin}${path}`);
      assert.equal(res.status(), 200);
      record(await res.text());
    }
    await page.goto(`${origin}/ui`);
    const token = await csrf();
    const refreshed = await page.request.post(`${origin}/ui/actions/refresh`, { headers: { origin, accept: 'application/json', 'x-csrf-token': token }, form: { provider: 'testas' } });
    assert.equal(refreshed.status(), 200);
    const refreshedJson = (await refreshed.json()) as { ok: boolean; expires_at: string };
    assert.equal(refreshedJson.ok, true);
    record(JSON.stringify(refreshedJson));
    const issued = await as.issuedTokens();
    assert.ok(issued.length >= 4, 'logins and refreshes issued tokens');
    assert.ok(served.length > 20, `bodies recorded: ${served.length}`);
    assert.ok(served.some((body) => body.includes('sk-****')), 'masked keys were served: the check looked at real pages');
    served.forEach((body, i) => writeFileSync(join(bodies, `${String(i).padStart(3, '0')}.log`), body));
    await assertNoTokenIn([bodies], [...issued, apiKey, secondKey, ...extraCanaries]);
  });
});
