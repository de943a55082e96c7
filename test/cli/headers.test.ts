// Issue 16, part 3: `authsome headers <provider> [--url URL] [--json]` prints the headers a request
// would carry — the JSON object Claude Code's headersHelper reads, or `Name: value` lines that
// `curl -H @-` reads — renewed first when due (counted at the real oidc-provider), audited like
// `get --show-secret`, with --url the route decision `run --only <provider>` makes (its fixed
// headers included), and a clear error with its code and exit status where headers cannot carry
// the credential or no route covers the URL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectOutput, runCli } from '../support/cli.ts';
import { startGatedOAuth, type GatedOAuth } from '../support/gated-oauth.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { makeDue } from '../support/make-due.ts';
import { ACME_KEY, BETA_KEY, acme, gitty, proxyHome, type ProxyHome } from '../proxy/harness.ts';

const Q_KEY = 'query-secret-key-424242';

let g: GatedOAuth;
let upstream: HttpsUpstream;
let h: ProxyHome;

const headers = (args: string[]) => runCli(['headers', ...args], { env: g.h.env });
/** The audit entries of the home, newest last. */
const audit = () => readFileSync(join(g.h.home, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

before(async () => {
  [g, upstream] = await Promise.all([startGatedOAuth({ AUTHSOME_REFRESH_BACKOFF: '0' }), startHttpsUpstream()]);
  await g.registerGated({ host_url: 'other.example.test' });
  const login = await runCli(['login', 'testas'], { env: g.h.env });
  assert.equal(login.code, 0, login.stderr);
  h = await proxyHome(upstream, g.h);
  await h.register({ ...acme, routes: [{ url: 'api.example.test', headers: { 'anthropic-version': '2023-06-01' } }, { url: 'https://api.example.test/v2' }] });
  await h.register({ ...gitty });
  await h.register({ schema_version: 1, name: 'qkey', auth_type: 'api_key', flow: 'api_key', host_url: 'third.example.test', api_key: { location: 'query', query_param: 'api_key', env_var: 'QKEY' } });
  await h.login('acme', ACME_KEY);
  await h.login('gitty', BETA_KEY);
  await h.login('qkey', Q_KEY);
});
after(async () => {
  await upstream?.close();
  await g?.close({ checkCanaries: true });
});

describe('authsome headers', () => {
  it('--json prints the bare object a header helper reads, and the read is audited like --show-secret', async () => {
    const result = await headers(['acme', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { 'X-Api-Key': ACME_KEY });
    const entry = audit().at(-1)!;
    assert.equal(entry.event, 'get');
    assert.equal(entry.provider, 'acme');
    assert.equal(entry.field, 'headers');
    assert.equal(entry.show_secret, true);
    assert.equal(entry.via, 'cli');
    assert.ok(!JSON.stringify(entry).includes(ACME_KEY), 'the audit entry holds no secret');
  });

  it('plain output is `Name: value` lines, which curl -H @- sends to the upstream', async () => {
    const result = await headers(['gitty']);
    assert.equal(result.code, 0, result.stderr);
    const basic = `Basic ${Buffer.from(`x-access-token:${BETA_KEY}`).toString('base64')}`;
    assert.equal(result.stdout, `Authorization: ${basic}\n`);
    const curl = spawn('curl', ['-sS', '--max-time', '20', '--cacert', upstream.caFile, '--connect-to', `git.example.test:443:127.0.0.1:${upstream.port}`, '-H', '@-', 'https://git.example.test/echo/curl'], { stdio: ['pipe', 'pipe', 'pipe'] });
    curl.stdin.end(result.stdout);
    const out = await collectOutput(curl);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(upstream.received('/echo/curl').at(-1)!.headers.authorization, basic);
  });

  it('a due OAuth token is refreshed first (one refresh at the token endpoint), and the new one is printed', async () => {
    const before = (await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: g.h.env })).stdout.trim();
    await makeDue(g.h.home, 'testas');
    await g.as.resetCounts();
    const result = await headers(['testas', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await g.as.counts()).token.refresh_token, 1);
    const after = (await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: g.h.env })).stdout.trim();
    assert.notEqual(after, before);
    assert.deepEqual(JSON.parse(result.stdout), { Authorization: `Bearer ${after}` });
  });

  it('--url takes the route decision for that URL, with the route\'s fixed headers', async () => {
    const fixed = await headers(['acme', '--url', 'https://api.example.test/v1/messages', '--json']);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.deepEqual(JSON.parse(fixed.stdout), { 'anthropic-version': '2023-06-01', 'X-Api-Key': ACME_KEY });
    // The longer path prefix wins, and it has no fixed header.
    const v2 = await headers(['acme', '--url', 'https://api.example.test/v2/models', '--json']);
    assert.equal(v2.code, 0, v2.stderr);
    assert.deepEqual(JSON.parse(v2.stdout), { 'X-Api-Key': ACME_KEY });
    assert.equal(audit().at(-1)!.url, 'https://api.example.test/v2/models');
  });

  it('a URL no route of the provider covers is refused with the reason, exit 3', async () => {
    const result = await headers(['acme', '--url', 'https://third.example.test/v1?api_key=x', '--json']);
    assert.equal(result.code, 3, result.stderr);
    const error = JSON.parse(result.stdout) as Record<string, string>;
    assert.equal(error.error, 'provider_not_found');
    assert.match(error.message, /no connection's route covers https:\/\/third\.example\.test\/v1: no provider's route matches third\.example\.test:443\/v1/);
    const plain = await headers(['acme', '--url', 'http://api.example.test/v1']);
    assert.equal(plain.code, 3);
    assert.match(plain.stderr, /plain http:\/\/ requests are forwarded untouched/);
    assert.equal(plain.stdout, '');
  });

  it('a query-parameter provider is refused: headers cannot carry its credential (flow_unsupported, exit 2)', async () => {
    for (const args of [['qkey', '--json'], ['qkey', '--url', 'https://third.example.test/v1', '--json']]) {
      const result = await headers(args);
      assert.equal(result.code, 2, result.stderr);
      const error = JSON.parse(result.stdout) as Record<string, string>;
      assert.equal(error.error, 'flow_unsupported');
      assert.match(error.message, /qkey \(default\) sends its credential as the query parameter api_key, which headers cannot carry/);
      assert.match(error.hint, /authsome run/);
      assert.ok(!result.stdout.includes(Q_KEY));
    }
  });

  it('a provider with no connection: credential_missing, exit 5', async () => {
    await h.register({ ...acme, name: 'lonely', host_url: 'lonely.example.test' });
    const result = await headers(['lonely', '--json']);
    assert.equal(result.code, 5, result.stdout);
    assert.equal((JSON.parse(result.stdout) as Record<string, string>).error, 'credential_missing');
  });
});
