// One redactor on every output, as an attack: a provider that echoes the refresh token and the
// client secret back in its error_description. The text is the provider's; authsome prints it in
// `get` (the record keeps it as last_refresh_error_description), in `--json`, in the dashboard's
// flash notice and JSON answers. Each of those passes through the redactor; only the values
// `--show-secret` asks for are printed exactly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assertNoTokenIn } from '../support/canary.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { openDashboard, type DashboardSession } from '../support/dashboard-session.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { seedConnection } from '../support/make-due.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

let jp: JsonProvider;
let h: OAuthHome;
let secrets: string[];

/** A fresh, due connection whose next refresh the provider answers with both secrets in error_description. */
async function echoingRefresh(connection: string): Promise<{ refreshToken: string }> {
  const seed = jp.seedRecord() as { refresh_token: string };
  await seedConnection(h.home, { provider: 'jsonprov', connection_name: connection, ...seed });
  jp.failWith('refresh', 'invalid_grant', { description: `refresh_token ${seed.refresh_token} is not valid for client_secret ${jp.clientSecret}`, times: Infinity });
  secrets.push(seed.refresh_token);
  return { refreshToken: seed.refresh_token };
}

const leaks = (text: string) => secrets.filter((secret) => text.includes(secret));

before(async () => {
  jp = await startJsonProvider();
  h = await oauthHome({ ...jp.clientEnv, AUTHSOME_REFRESH_BACKOFF: '0' });
  await h.register(jp.definition());
  secrets = [jp.clientSecret];
});

after(async () => {
  await assertNoTokenIn([join(h.home, 'audit.log'), join(h.home, 'logs')], secrets);
  await h?.cleanup();
  await jp?.close();
});

describe('a provider that echoes secrets in error_description', () => {
  it('get, get --json and get --field show neither the refresh token nor the client secret', async () => {
    const { refreshToken } = await echoingRefresh('default');
    const human = await runCli(['get', 'jsonprov'], { env: h.env });
    assert.equal(human.code, 6, human.stderr);
    assert.match(human.stdout, /last_refresh_error_description/);
    assert.deepEqual(leaks(human.stdout + human.stderr), [], 'get (table and error)');
    assert.match(human.stdout, /refresh_token \[REDACTED\] is not valid for client_secret \[REDACTED\]/);
    const json = await runCli(['get', 'jsonprov', '--json'], { env: h.env });
    assert.deepEqual(leaks(json.stdout + json.stderr), [], 'get --json');
    const field = await runCli(['get', 'jsonprov', '--field', 'metadata'], { env: h.env });
    assert.deepEqual(leaks(field.stdout), [], 'get --field metadata');
    // A later process that never saw the client secret reads the stored description: it was redacted before it was stored.
    const { JSONPROV_CLIENT_SECRET: _, ...withoutSecret } = h.env;
    const later = await runCli(['get', 'jsonprov', '--field', 'metadata'], { env: withoutSecret });
    assert.deepEqual(leaks(later.stdout + later.stderr), [], 'a later get without the client secret in its environment');
    // What --show-secret asks for is still printed exactly.
    const shown = await runCli(['get', 'jsonprov', '--field', 'refresh_token', '--show-secret'], { env: h.env });
    assert.equal(shown.stdout, `${refreshToken}\n`);
    const pair = jp.issuePair();
    await seedConnection(h.home, { provider: 'jsonprov', connection_name: 'healthy', ...pair, expires_at: '2999-01-01T00:00:00', obtained_at: '2025-01-01T00:00:00' });
    const whole = await runCliJson<{ access_token: string; refresh_token: string }>(['get', 'jsonprov', '--connection', 'healthy', '--show-secret'], { env: h.env });
    assert.deepEqual([whole.json.access_token, whole.json.refresh_token], [pair.access_token, pair.refresh_token], 'get --json --show-secret is exact');
  });

  it('the dashboard\'s refresh action answers and flashes without them', async () => {
    assert.equal((await runCli(['daemon', 'start'], { env: h.env })).code, 0);
    const dashboard: DashboardSession = await openDashboard(h.env);
    await echoingRefresh('second');
    const answer = await dashboard.action('refresh', { provider: 'jsonprov', connection: 'second' }, { json: true });
    assert.equal(answer.status, 502, answer.body);
    assert.match(answer.body, /\[REDACTED\]/);
    assert.deepEqual(leaks(answer.body), [], 'the JSON answer');
    await echoingRefresh('third');
    const redirected = await dashboard.action('refresh', { provider: 'jsonprov', connection: 'third' });
    assert.equal(redirected.status, 303);
    const page = await dashboard.get('/ui');
    assert.match(page.body, /id="notice"/);
    assert.deepEqual(leaks(page.body), [], 'the flash notice and the page');
    const state = await dashboard.get('/ui/api/state');
    assert.deepEqual(leaks(state.body), [], '/ui/api/state');
  });
});
