// Credentials of several parts (api_key.fields), through the built CLI: Twilio's Account SID and
// Auth Token are collected by name, exported under the variables its SDKs read, and under `run`
// the child gets the real SID (SDKs put it in URL paths) and a placeholder for the token, while the
// upstream gets Basic SID:token; Cloudflare's legacy email + key go out as two headers. Bad input
// stores nothing and names the part, never the value.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { launchChromium } from '../support/chromium.ts';
import { runCli, runCliJson, startCli } from '../support/cli.ts';
import { assertNoSecretIn, headerValues, proxyFixture } from './harness.ts';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token-secret-98765';
const CF_KEY = 'cf-global-key-secret-4242';

/** Twilio's shape on a test host. */
const twilioish = {
  schema_version: 1, name: 'twilioish', auth_type: 'api_key', flow: 'api_key', host_url: 'api.example.test',
  api_key: {
    location: 'basic', basic_template: '{account_sid}:{auth_token}',
    fields: [{ name: 'account_sid', env_var: 'TWILIO_ACCOUNT_SID', secret: false }, { name: 'auth_token', env_var: 'TWILIO_AUTH_TOKEN' }],
  },
};
/** Cloudflare's legacy Global API Key: two headers. */
const cfish = {
  schema_version: 1, name: 'cfish', auth_type: 'api_key', flow: 'api_key', host_url: 'third.example.test',
  api_key: {
    headers: { 'X-Auth-Email': '{email}', 'X-Auth-Key': '{global_key}' },
    fields: [{ name: 'email', env_var: 'CLOUDFLARE_EMAIL', secret: false }, { name: 'global_key', env_var: 'CLOUDFLARE_API_KEY' }],
  },
};

const fx = proxyFixture([]);
const login = (provider: string, input: string, extra: string[] = []) => runCli(['login', provider, '--api-key-stdin', ...extra], { env: fx.h.env, input });

describe('a credential of several parts', { timeout: 90_000 }, () => {
  it('bundled twilio: login takes account_sid and auth_token by name; export gives TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN', async () => {
    const result = await login('twilio', `account_sid=${SID}\nauth_token=${TOKEN}\n`);
    assert.equal(result.code, 0, result.stderr);
    const exported = await runCli(['export', 'twilio'], { env: fx.h.env });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, new RegExp(`^TWILIO_ACCOUNT_SID=${SID}$`, 'm'));
    assert.match(exported.stdout, new RegExp(`^TWILIO_AUTH_TOKEN=${TOKEN}$`, 'm'));
    // get shows the parts masked, and one part by name with --show-secret.
    const { json } = await runCliJson<Record<string, any>>(['get', 'twilio'], { env: fx.h.env });
    assertNoSecretIn(JSON.stringify(json), [TOKEN, SID], 'get --json');
    const sid = await runCli(['get', 'twilio', '--field', 'account_sid', '--show-secret'], { env: fx.h.env });
    assert.equal(sid.stdout.trim(), SID);
  });

  it('login reads each part from its variable', async () => {
    const result = await runCli(['login', 'twilio', '--force'], { env: { ...fx.h.env, TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: `${TOKEN}-env` } });
    assert.equal(result.code, 0, result.stderr);
    const token = await runCli(['get', 'twilio', '--field', 'auth_token', '--show-secret'], { env: fx.h.env });
    assert.equal(token.stdout.trim(), `${TOKEN}-env`);
  });

  it('run: the child gets the real SID and a placeholder token; the upstream gets Basic SID:token and the SID in its path', async () => {
    await fx.h.register(twilioish);
    assert.equal((await login('twilioish', `account_sid=${SID}\nauth_token=${TOKEN}\n`)).code, 0);
    const script = 'echo "child sid=$TWILIO_ACCOUNT_SID token=$TWILIO_AUTH_TOKEN"; '
      + 'curl -sS --max-time 20 -u "$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN" "https://api.example.test/echo/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/Messages.json"';
    const result = await fx.h.run(['sh', '-c', script], { only: 'twilioish' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`child sid=${SID} token=authsome-proxy-managed`));
    assertNoSecretIn(result.stdout + result.stderr, [TOKEN], 'the child\'s output');
    const [arrived] = fx.upstream.received(`/echo/2010-04-01/Accounts/${SID}/Messages.json`);
    assert.ok(arrived, 'the request reached the upstream with the SID in its path');
    assert.deepEqual(headerValues(arrived.rawHeaders, 'authorization'), [`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`]);
  });

  it('a connection stored as one "SID:token" before the definition named parts still sends that pair', async () => {
    await fx.h.register({ ...twilioish, name: 'oldtwilio', api_key: { location: 'basic' } });
    assert.equal((await login('oldtwilio', `${SID}:${TOKEN}`)).code, 0);
    await fx.h.register({ ...twilioish, name: 'oldtwilio' });
    const result = await fx.h.run(['curl', '-sS', '--max-time', '20', 'https://api.example.test/echo/legacy'], { only: 'oldtwilio' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(headerValues(fx.upstream.received('/echo/legacy')[0]!.rawHeaders, 'authorization'), [`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`]);
    // export cannot split the pair: it says so, with the fix, instead of printing nothing.
    const exported = await runCli(['export', 'oldtwilio'], { env: fx.h.env });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, /not exported: connection "default" of oldtwilio holds no account_sid .*authsome login oldtwilio --force/);
    assert.doesNotMatch(exported.stdout + exported.stderr, new RegExp(TOKEN));
  });

  it('Cloudflare email + key: two headers from one connection', async () => {
    await fx.h.register(cfish);
    assert.equal((await login('cfish', `email=ops@example.test\nglobal_key=${CF_KEY}\n`)).code, 0);
    const result = await fx.h.run(['curl', '-sS', '--max-time', '20', 'https://third.example.test/echo/cf'], { only: 'cfish' });
    assert.equal(result.code, 0, result.stderr);
    const [arrived] = fx.upstream.received('/echo/cf');
    assert.deepEqual(headerValues(arrived!.rawHeaders, 'x-auth-email'), ['ops@example.test']);
    assert.deepEqual(headerValues(arrived!.rawHeaders, 'x-auth-key'), [CF_KEY]);
    assertNoSecretIn(result.stdout, [CF_KEY], 'the child\'s output');
  });

  it('LiveStorm / AssemblyAI: header_prefix "" sends the bare key in Authorization', async () => {
    await fx.h.register({ schema_version: 1, name: 'barekey', auth_type: 'api_key', flow: 'api_key', host_url: 'other.example.test', api_key: { header_prefix: '', env_var: 'BARE_KEY' } });
    assert.equal((await login('barekey', 'bare-key-secret-55555')).code, 0);
    const result = await fx.h.run(['curl', '-sS', '--max-time', '20', 'https://other.example.test/echo/bare'], { only: 'barekey' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(headerValues(fx.upstream.received('/echo/bare')[0]!.rawHeaders, 'authorization'), ['bare-key-secret-55555']);
  });

  it('the local form asks for each part, the secret one masked, and stores them', async () => {
    const browser = await launchChromium();
    try {
      const cli = startCli(['login', 'twilioish', '--form', '--no-browser', '--connection', 'form'], { env: fx.h.env });
      const [, url] = await cli.waitForStderr(/local form \(it never leaves this computer\):\n\n {2}(http:\/\/127\.0\.0\.1:\d+\/input\/[\w-]+)\n/);
      const page = await (await browser.newContext()).newPage();
      await page.goto(url!);
      assert.equal(await page.getByLabel('twilioish account sid').getAttribute('type'), 'text');
      assert.equal(await page.getByLabel('twilioish auth token').getAttribute('type'), 'password');
      await page.getByLabel('twilioish account sid').fill(SID);
      await page.getByLabel('twilioish auth token').fill(`${TOKEN}-form`);
      await Promise.all([page.waitForEvent('framenavigated'), page.getByRole('button', { name: 'Save' }).click()]);
      const result = await cli.done;
      assert.equal(result.code, 0, result.stderr);
    } finally {
      await browser.close();
    }
    const token = await runCli(['get', 'twilioish', '--connection', 'form', '--field', 'auth_token', '--show-secret'], { env: fx.h.env });
    assert.equal(token.stdout.trim(), `${TOKEN}-form`);
  });

  it('refuses a missing part or a line that is not name=value, naming the part or line, never the value, and stores nothing', async () => {
    const missing = await login('twilioish', `account_sid=${SID}\n`, ['--connection', 'half']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /the auth token \(auth_token\) for twilioish is missing/);
    const garbled = await login('twilioish', `account_sid=${SID}\n${TOKEN}\n`, ['--connection', 'half']);
    assert.notEqual(garbled.code, 0);
    assert.match(garbled.stderr, /line 2 of the input is not name=value/);
    assertNoSecretIn(garbled.stderr, [TOKEN], 'the error');
    const { json } = await runCliJson<{ connections: Array<{ provider: string; connection: string }> }>(['list', '--connected'], { env: fx.h.env });
    assert.ok(!JSON.stringify(json).includes('"half"'), 'no connection "half" was stored');
  });

  it('register refuses a template that names a part the login does not collect', async () => {
    const file = join(fx.h.home, 'broken-parts.json');
    writeFileSync(file, JSON.stringify({ ...twilioish, name: 'brokenparts', api_key: { ...twilioish.api_key, basic_template: '{account_sid}:{authtoken}' } }));
    const result = await runCli(['register', file], { env: fx.h.env });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /api_key\.basic_template.*\{authtoken\} is not \{key\} or a name in api_key\.fields/);
  });
});
