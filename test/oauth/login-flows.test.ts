// Every OAuth login flow, end to end through the built CLI and its daemon, against a real
// authorization server (oidc-provider): PKCE, device code, DCR from an MCP server's URL, client
// credentials, and the ways a login fails — a forged state, a replayed code, a denial, an
// expired device code — plus RFC 7009 revocation on logout.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { CookieJar, approveUserCode, browse, collectRedirectToCallback, followAuthorizationUrl } from '../support/browser-sim.ts';
import { spawn } from 'node:child_process';
import { CLI, cleanEnv, runCli, runCliJson, startCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';

let as: AuthServer;
let h: OAuthHome;

before(async () => {
  as = await startAuthServer();
  h = await oauthHome();
  await h.register(testProvider(as));
});
after(async () => {
  // Canary: no token the server ever issued appears in any log or audit file of the home.
  await assertNoTokenIn([join(h.home, 'audit.log'), join(h.home, 'logs')], await as.issuedTokens());
  await h?.cleanup();
  await as?.close();
});

const secret = async (home: OAuthHome, provider: string, field: string, connection = 'default') => {
  const result = await runCli(['get', provider, '--connection', connection, '--field', field, '--show-secret'], { env: home.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};

/** Opens a URL the way a browser tab would (a top-level navigation). */
const navigate = (url: string) => fetch(url, { headers: { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' }, redirect: 'manual' });

describe('pkce', () => {
  it('logs in through the browser, stores tokens, scopes, expiry and the account, and redacts --verbose', async () => {
    await as.resetCounts();
    const result = await runCli(['login', 'testas', '--verbose'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Connected testas \(default\) as alice@example\.test in profile default/);
    assert.match(result.stderr, /To log in to testas, open this URL in a browser:\n\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\/start\/[\w-]+\n/);
    const { json } = await runCliJson<Record<string, any>>(['get', 'testas'], { env: h.env });
    assert.equal(json.status, 'connected');
    assert.deepEqual(json.account, { id: 'alice', label: 'alice@example.test' });
    assert.deepEqual(json.scopes, ['openid', 'email']);
    const lifetime = (Date.parse(json.expires_at) - Date.now()) / 1000;
    assert.ok(lifetime > 3500 && lifetime <= 3600, `expires_at ${json.expires_at}`);
    const accessToken = await secret(h, 'testas', 'access_token');
    const refreshToken = await secret(h, 'testas', 'refresh_token');
    assert.equal(await as.isActive(accessToken), true);
    assert.equal(await as.isActive(refreshToken), true);
    assert.deepEqual((await as.counts()).token, { authorization_code: 1 });
    // --verbose showed the token endpoint's answer, with every secret replaced.
    assert.match(result.stderr, /oauth ← 200 POST http:\/\/127\.0\.0\.1:\d+\/token/);
    assert.match(result.stderr, /"access_token":"\[REDACTED\]"/);
    for (const value of [accessToken, refreshToken]) assert.ok(!result.stderr.includes(value), 'a token leaked into --verbose output');
    const audit = readFileSync(join(h.home, 'audit.log'), 'utf8');
    assert.match(audit, /"event": "login", "provider": "testas", "connection": "default", "flow": "pkce"/);
    for (const value of [accessToken, refreshToken]) assert.ok(!audit.includes(value));
  });

  it('refuses to replace an existing connection without --force, before any browser opens', async () => {
    await as.resetCounts();
    const result = await runCli(['login', 'testas'], { env: h.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /already has a connection "default".*not overwritten/);
    assert.doesNotMatch(result.stderr, /open this URL/);
    assert.deepEqual((await as.counts()).token, {});
  });

  it('a callback with a state no login waits for fails nothing: the page says so, and the pending login then completes (issue 14, item 9)', async () => {
    const cli = startCli(['login', 'testas', '--connection', 'forged', '--no-browser'], { env: h.env });
    const [, url] = await cli.waitForStderr(/open this URL in a browser:\n\n {2}(\S+)/);
    const jar = new CookieJar();
    const callback = await collectRedirectToCallback(url!, jar);
    // Forged callbacks, clicked as links (top-level navigations), in the person's own browser and in a stranger's.
    for (const forged of [{ state: 'forged-state-value', code: 'x' }, { state: 'forged-state-value', error: 'access_denied' }]) {
      const forgedUrl = new URL(callback);
      forgedUrl.search = new URLSearchParams(forged).toString();
      const inBrowser = await browse(jar, forgedUrl.href);
      assert.equal(inBrowser.status, 400);
      assert.match(inBrowser.html, /does not belong to a login authsome is waiting for/);
      assert.match(inBrowser.html, /Error: OAuth state parameter does not match/);
      assert.equal((await navigate(forgedUrl.href)).status, 400);
    }
    // The real callback still completes the login.
    const page = await browse(jar, callback);
    assert.equal(page.status, 200, page.html);
    assert.match(page.html, /Connected to Test AS as alice@example\.test/);
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Connected testas \(forged\)/);
  });

  it('a callback with the right state but an error fails only that login; another waiting login completes', async () => {
    const denied = startCli(['login', 'testas', '--connection', 'errored', '--no-browser'], { env: h.env });
    const other = startCli(['login', 'testas', '--connection', 'unaffected', '--no-browser'], { env: h.env });
    const [, deniedUrl] = await denied.waitForStderr(/open this URL in a browser:\n\n {2}(\S+)/);
    const [, otherUrl] = await other.waitForStderr(/open this URL in a browser:\n\n {2}(\S+)/);
    const jar = new CookieJar();
    const callback = new URL(await collectRedirectToCallback(deniedUrl!, jar));
    const errored = new URL(callback);
    errored.search = new URLSearchParams({ error: 'access_denied', error_description: 'Denied by hand', state: callback.searchParams.get('state')!, iss: callback.searchParams.get('iss')! }).toString();
    const page = await browse(jar, errored.href);
    assert.equal(page.status, 400);
    assert.match(page.html, /testas answered: access_denied — Denied by hand/);
    const result = await denied.done;
    assert.equal(result.code, 4);
    assert.match(result.stderr, /access_denied/);
    assert.equal((await followAuthorizationUrl(otherUrl!)).status, 200);
    assert.equal((await other.done).code, 0);
    assert.equal((await runCli(['get', 'testas', '--connection', 'errored'], { env: h.env })).code, 5);
  });

  it('never redeems a replayed callback: the replay is refused and the stored token stays valid', async () => {
    await as.resetCounts();
    const cli = startCli(['login', 'testas', '--connection', 'replay', '--no-browser'], { env: h.env });
    const [, url] = await cli.waitForStderr(/open this URL in a browser:\n\n {2}(\S+)/);
    const jar = new CookieJar();
    const callback = await collectRedirectToCallback(url!, jar);
    const first = await browse(jar, callback);
    assert.equal(first.status, 200);
    assert.match(first.html, /Connected to Test AS as alice@example\.test/);
    assert.equal((await cli.done).code, 0);
    const replay = await browse(jar, callback);
    assert.equal(replay.status, 400);
    assert.match(replay.html, /OAuth state parameter does not match/);
    // A second redemption of the code would have revoked the tokens issued from it (RFC 6749 §4.1.2).
    assert.deepEqual((await as.counts()).token, { authorization_code: 1 });
    assert.equal(await as.isActive(await secret(h, 'testas', 'access_token', 'replay')), true);
  });

  it('over SSH with no display: says no browser opened, suggests the device flow, and the printed URL still works', async () => {
    // script(1) gives the CLI a real terminal, as an SSH session would; there is no DISPLAY and no BROWSER.
    const env = cleanEnv({ ...h.env, BROWSER: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22', NO_COLOR: '1' });
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} login testas --connection ssh`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    const printedUrl = new Promise<string>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        screen += chunk;
        const match = /(http:\/\/127\.0\.0\.1:\d+\/auth\/start\/\S+)/.exec(screen);
        if (match && /No browser was opened/.test(screen)) resolve(match[1]!);
      });
    });
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    // "Another device": a browser elsewhere that reaches this machine's port (here, the same host).
    const page = await followAuthorizationUrl(await printedUrl);
    assert.equal(page.status, 200);
    assert.equal(await exited, 0, screen);
    assert.match(screen, /No browser was opened: this is an SSH session with no display/);
    assert.match(screen, /ssh -L \d+:127\.0\.0\.1:\d+/);
    assert.match(screen, /authsome login testas --flow device_code/);
    assert.match(screen, /Connected testas \(ssh\) as alice@example\.test/);
  });

  it('reports a denial with the provider\'s description and stores nothing', async () => {
    await as.setInteraction('deny');
    try {
      const result = await runCli(['login', 'testas', '--connection', 'denied'], { env: h.env });
      assert.equal(result.code, 4);
      assert.match(result.stderr, /Error: testas answered access_denied: The user denied the request/);
      assert.equal((await runCli(['get', 'testas', '--connection', 'denied'], { env: h.env })).code, 5);
    } finally {
      await as.setInteraction('approve');
    }
  });
});

describe('device_code', () => {
  it('shows the user code, polls until it is approved on the server\'s pages, and stores the tokens', async () => {
    await as.resetCounts();
    const cli = startCli(['login', 'testas', '--flow', 'device_code', '--connection', 'device'], { env: h.env });
    const [, uri, code] = await cli.waitForStderr(/open (\S+) on any device and enter the code:\n\n {4}(\S+)/);
    const [, page] = await cli.waitForStderr(/This computer's page for it: (\S+)/);
    const devicePage = await (await fetch(page!)).text();
    assert.ok(devicePage.includes(code!), 'the device page shows the user code');
    assert.match(devicePage, /<svg[^>]*role="img"/);
    await approveUserCode(uri!, code!);
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Connected testas \(device\) as alice@example\.test/);
    assert.match(result.stderr, /Waiting for approval \(the code expires in \d+ min\)/);
    assert.ok(((await as.counts()).token['urn:ietf:params:oauth:grant-type:device_code'] ?? 0) >= 1);
    assert.equal(await as.isActive(await secret(h, 'testas', 'access_token', 'device')), true);
    assert.match(await (await fetch(page!)).text(), /Connected to Test AS/);
  });

  it('ends clearly when the person denies the code', async () => {
    const cli = startCli(['login', 'testas', '--flow', 'device_code', '--connection', 'device-denied'], { env: h.env });
    const [, uri, code] = await cli.waitForStderr(/open (\S+) on any device and enter the code:\n\n {4}(\S+)/);
    await approveUserCode(uri!, code!, { deny: true });
    const result = await cli.done;
    assert.equal(result.code, 4);
    assert.match(result.stderr, /Error: the login to testas was denied on the verification page/);
  });

  it('ends clearly when the device code expires', async () => {
    const shortLived = await startAuthServer({ deviceCodeTtl: 2 });
    const home = await oauthHome();
    try {
      await home.register(testProvider(shortLived));
      const result = await runCli(['login', 'testas', '--flow', 'device_code'], { env: home.env });
      assert.equal(result.code, 4);
      assert.match(result.stderr, /Error: the device code for testas expired before it was approved/);
      assert.match(result.stderr, /authsome login testas --flow device_code/);
    } finally {
      await home.cleanup();
      await shortLived.close();
    }
  });
});

describe('dcr_pkce', () => {
  it('logs in to an MCP server from its URL alone, and registers again when the server forgot the client', async () => {
    await as.resetCounts();
    const first = await runCli(['login', as.resourceUrl], { env: h.env });
    assert.equal(first.code, 0, first.stderr);
    const name = `127.0.0.1-${new URL(as.resourceUrl).port}`;
    assert.match(first.stderr, new RegExp(`Saved provider "${name}" for ${as.resourceUrl.replaceAll('.', '\\.')}`));
    const [, clientId] = /Registered a client with .* \(RFC 7591\): (\S+)/.exec(first.stderr) ?? [];
    assert.ok(clientId, first.stderr);
    const { json: definition } = await runCliJson<Record<string, any>>(['inspect', name], { env: h.env });
    assert.equal(definition.definition.flow, 'dcr_pkce');
    assert.equal(definition.definition.oauth.resource, as.resourceUrl);
    // The token was issued for the resource (RFC 8707): the MCP server accepts it.
    const token = await secret(h, name, 'access_token');
    const mcp = await fetch(as.resourceUrl, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(mcp.status, 200);

    await as.deleteClient(clientId!);
    const again = await runCli(['login', as.resourceUrl, '--force'], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /no longer knows the client registered earlier; registering a new one/);
    assert.equal((await as.counts()).registration, 2);
  });
});

describe('client_credentials', () => {
  it('gets a machine token with no refresh token from env-provided client credentials', async () => {
    await h.register({
      schema_version: 1, name: 'm2m', auth_type: 'oauth2', flow: 'client_credentials', oauth: { issuer: as.issuer },
      client: { client_id_env: 'M2M_ID', client_secret_env: 'M2M_SECRET' },
    });
    const env = { ...h.env, M2M_ID: 'm2m', M2M_SECRET: 'm2m-secret-1234567' };
    const result = await runCli(['login', 'm2m', '--verbose'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stderr.includes('m2m-secret-1234567'), 'the client secret leaked into --verbose output');
    const { json } = await runCliJson<Record<string, any>>(['get', 'm2m'], { env });
    assert.equal(json.status, 'connected');
    assert.equal(json.refresh_token, null);
    assert.ok(json.expires_at);
    const api = await fetch(as.apiUrl, { headers: { authorization: `Bearer ${await secret(h, 'm2m', 'access_token')}` } });
    assert.equal(api.status, 200);
    assert.equal((await api.json() as { sub: string }).sub, 'm2m');

    // Near expiry it is renewed by asking again: there is no refresh token to spend.
    const first = await secret(h, 'm2m', 'access_token');
    await as.resetCounts();
    await makeDue(h.home, 'm2m');
    const renewed = await runCli(['get', 'm2m', '--field', 'access_token', '--show-secret'], { env });
    assert.equal(renewed.code, 0, renewed.stderr);
    assert.notEqual(renewed.stdout.trim(), first);
    assert.deepEqual((await as.counts()).token, { client_credentials: 1 });
    assert.equal((await fetch(as.apiUrl, { headers: { authorization: `Bearer ${renewed.stdout.trim()}` } })).status, 200);
  });
});

describe('revocation', () => {
  it('logout revokes the grant at the provider, then removes the connection', async () => {
    assert.equal((await runCli(['login', 'testas', '--connection', 'revoked'], { env: h.env })).code, 0);
    const accessToken = await secret(h, 'testas', 'access_token', 'revoked');
    const refreshToken = await secret(h, 'testas', 'refresh_token', 'revoked');
    const result = await runCli(['logout', 'testas', '--connection', 'revoked'], { env: h.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Removed testas \(revoked\) from this computer\.\ntestas revoked the token\./);
    assert.equal(await as.isActive(refreshToken), false);
    assert.equal(await as.isActive(accessToken), false);
    assert.equal((await runCli(['get', 'testas', '--connection', 'revoked'], { env: h.env })).code, 5);
  });

  it('still removes the connection locally when the provider cannot be reached, and says both', async () => {
    const doomed = await startAuthServer();
    const home = await oauthHome();
    try {
      await home.register(testProvider(doomed));
      assert.equal((await runCli(['login', 'testas'], { env: home.env })).code, 0);
      await doomed.close();
      const result = await runCli(['logout', 'testas'], { env: home.env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Removed testas \(default\) from this computer\./);
      assert.match(result.stdout, /Revoking at testas failed \(could not reach .*ECONNREFUSED\); the token may stay valid until it expires\./);
      assert.equal((await runCli(['get', 'testas'], { env: home.env })).code, 5);
    } finally {
      await home.cleanup();
    }
  });
});
