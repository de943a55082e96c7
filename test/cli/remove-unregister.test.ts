// remove and unregister through the built CLI, against the real authorization server (oidc-provider).
// remove deletes a provider's state in one profile — connections, revoked at the server first, the
// stored OAuth client, metadata and refresh state — and keeps the definition, so the next login
// asks for a client again. unregister deletes a custom definition, refusing while any profile of
// the store (SQLite folders, or a shared PostgreSQL's rows) still has connections for it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson, runCliJsonLines, startCli } from '../support/cli.ts';
import { cleanupHomes, freshHome, tempDir } from '../support/homes.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const FORM_URL = /local form \(it never leaves this computer\):\n\n {2}(http:\/\/127\.0\.0\.1:\d+\/input\/[\w-]+)\n/;

let as: AuthServer;
let h: OAuthHome;

before(async () => {
  as = await startAuthServer();
  h = await oauthHome();
  await h.register(testProvider(as));
});
after(async () => {
  await h?.cleanup();
  await as?.close();
  cleanupHomes();
});

/** The records a profile holds for a provider, by key (keys are stored in the clear; values sealed). */
function storedKeys(home: string, profile: string, provider: string): string[] {
  const db = new Database(join(home, 'profiles', profile, 'store.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT key FROM kv WHERE key LIKE ? ORDER BY key').all(`profile:${profile}:${provider}:%`) as Array<{ key: string }>;
    return rows.map((row) => row.key.slice(`profile:${profile}:${provider}:`.length));
  } finally {
    db.close();
  }
}

const secret = async (env: Record<string, string | undefined>, connection: string, field: string) => {
  const result = await runCli(['get', 'testas', '--connection', connection, '--field', field, '--show-secret'], { env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
};

describe('authsome remove', { timeout: 90_000 }, () => {
  it('revokes at the server, deletes connections, client and state, keeps the definition; the next login asks for a client', async () => {
    // Two connections, a client stored by the login (from TESTAS_CLIENT_ID), refresh state.
    assert.equal((await runCli(['login', 'testas'], { env: h.env })).code, 0);
    assert.equal((await runCli(['login', 'testas', '--connection', 'second'], { env: h.env })).code, 0);
    const refreshed = await runCli(['refresh', 'testas'], { env: h.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.deepEqual(storedKeys(h.home, 'default', 'testas'), ['client', 'connection:default', 'connection:second', 'metadata', 'state']);
    const tokens = [];
    for (const connection of ['default', 'second']) {
      for (const field of ['access_token', 'refresh_token']) tokens.push(await secret(h.env, connection, field));
    }
    for (const token of tokens) assert.equal(await as.isActive(token), true);

    // No client variable from here on: the revocation authenticates with the stored client.
    const env = { ...h.env, TESTAS_CLIENT_ID: undefined };
    const removed = await runCli(['remove', 'testas'], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^Removed testas: 2 connections \(default, second\) and the OAuth client removed from profile default\.\n/);
    assert.match(removed.stdout, /testas \(default\) revoked the token\.\ntestas \(second\) revoked the token\./);
    assert.match(removed.stdout, /The testas definition is unchanged; the next login starts afresh: authsome login testas\n$/);
    for (const token of tokens) assert.equal(await as.isActive(token), false, 'the grant was revoked at the server');
    assert.deepEqual(storedKeys(h.home, 'default', 'testas'), [], 'connections, client, metadata and state are gone');

    const inspected = await runCliJson<{ source: string; definition: { name: string } }>(['inspect', 'testas'], { env });
    assert.deepEqual([inspected.code, inspected.json.source, inspected.json.definition.name], [0, 'custom', 'testas'], 'the custom definition stays');
    const list = await runCliJson<{ custom: Array<{ name: string; state: string; connections: unknown[] }> }>(['list'], { env });
    const testas = list.json.custom.find((p) => p.name === 'testas');
    assert.deepEqual([testas?.state, testas?.connections.length], ['available', 0]);
    const audit = await runCliJsonLines<{ provider: string; connections: string[]; client: boolean; remote_revocation: Record<string, string> }>(['log', '--event', 'remove'], { env });
    assert.deepEqual(audit.lines.map((e) => [e.provider, e.connections, e.client, e.remote_revocation]), [['testas', ['default', 'second'], true, { default: 'revoked', second: 'revoked' }]]);

    // The stored client is gone: the next login, with no client variable, asks for one in the form.
    const login = startCli(['login', 'testas', '--no-browser'], { env });
    try {
      const [, url] = await login.waitForStderr(FORM_URL);
      const page = await fetch(url!, { headers: { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Client ID/);
    } finally {
      login.kill();
      await login.done;
    }
    // A provider with neither a definition nor records is not found.
    const unknown = await runCliJson<{ error: string }>(['remove', 'nosuchprovider'], { env: h.env });
    assert.deepEqual([unknown.code, unknown.json.error], [3, 'provider_not_found']);
  });
});

describe('authsome unregister', { timeout: 90_000 }, () => {
  it('refuses while another profile is connected; works after remove, and with --force', async () => {
    await h.register(testProvider(as, { name: 'other', display_name: 'Other' }));
    assert.equal((await runCli(['profile', 'create', 'work'], { env: h.env })).code, 0);
    assert.equal((await runCli(['login', 'other', '--profile', 'work'], { env: h.env })).code, 0);

    const refused = await runCliJson<{ error: string; message: string; hint: string }>(['unregister', 'other'], { env: h.env });
    assert.equal(refused.code, 2);
    assert.equal(refused.json.error, 'conflict');
    assert.match(refused.json.message, /^other still has connections in profile "work" \(default\); .* so the definition was not deleted$/);
    assert.match(refused.json.hint, /authsome remove other --profile work.*authsome unregister other --force$/);
    assert.equal((await runCli(['inspect', 'other'], { env: h.env })).code, 0, 'nothing was deleted');
    const human = await runCli(['unregister', 'other'], { env: h.env });
    assert.equal(human.code, 2);
    assert.match(human.stderr, /^Error: other still has connections in profile "work" \(default\)/);

    assert.equal((await runCli(['remove', 'other', '--profile', 'work'], { env: h.env })).code, 0);
    const done = await runCli(['unregister', 'other'], { env: h.env });
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^Unregistered other: deleted .*\/providers\/other\.json\.\n$/);
    assert.equal((await runCli(['inspect', 'other'], { env: h.env })).code, 3, 'the definition is gone');

    // --force deletes it while connected, and says what was left behind.
    await h.register(testProvider(as, { name: 'other', display_name: 'Other' }));
    assert.equal((await runCli(['login', 'other', '--profile', 'work'], { env: h.env })).code, 0);
    const forced = await runCli(['unregister', 'other', '--force'], { env: h.env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /Warning: other still has connections in profile work \(default\); remove them with: authsome remove other --profile work/);
    assert.equal((await runCli(['inspect', 'other'], { env: h.env })).code, 3);
    const audit = await runCliJsonLines<{ provider: string; force: boolean; connections_left: number }>(['log', '--event', 'unregister'], { env: h.env });
    assert.deepEqual(audit.lines.map((e) => [e.provider, e.force, e.connections_left]), [['other', false, 0], ['other', true, 1]]);
    // What was left behind can still be removed.
    assert.equal((await runCli(['remove', 'other', '--profile', 'work'], { env: h.env })).code, 0);
  });

  it('refuses a bundled provider, and an unknown one', async () => {
    const bundled = await runCliJson<{ error: string; message: string; hint: string }>(['unregister', 'github'], { env: h.env });
    assert.equal(bundled.code, 2);
    assert.equal(bundled.json.error, 'input_invalid');
    assert.equal(bundled.json.message, 'github is a bundled provider; only custom definitions can be unregistered');
    assert.equal(bundled.json.hint, 'To delete its connections and stored client in this profile instead: authsome remove github');
    const unknown = await runCliJson<{ error: string }>(['unregister', 'nosuchprovider'], { env: h.env });
    assert.deepEqual([unknown.code, unknown.json.error], [3, 'provider_not_found']);
  });
});

describe('authsome unregister on a shared PostgreSQL store', { timeout: 120_000 }, () => {
  let pg: TestPostgres;
  before(async () => (pg = await startPostgres()));
  after(async () => pg?.stop());

  it('sees the connections of a profile that only another machine has', async () => {
    const env = { AUTHSOME_STORE_URL: pg.url, AUTHSOME_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
    const file = join(tempDir(), 'localapi.json');
    writeFileSync(file, JSON.stringify({ schema_version: 1, name: 'localapi', display_name: 'Local API', auth_type: 'api_key', flow: 'api_key', api_key: { header_name: 'X-Api-Key' } }));
    const [here, there] = [freshHome(), freshHome()];
    for (const home of [here, there]) assert.equal((await runCli(['register', file], { home, env })).code, 0);
    // Only the other machine has the "ci" profile's folder; its records are in the shared database.
    assert.equal((await runCli(['profile', 'create', 'ci'], { home: there, env })).code, 0);
    const login = await runCli(['login', 'localapi', '--api-key-stdin', '--profile', 'ci'], { home: there, env, input: 'local-key-0001' });
    assert.equal(login.code, 0, login.stderr);

    const refused = await runCliJson<{ error: string; message: string }>(['unregister', 'localapi'], { home: here, env });
    assert.deepEqual([refused.code, refused.json.error], [2, 'conflict']);
    assert.match(refused.json.message, /in profile "ci" \(default\)/);
    assert.equal((await runCli(['remove', 'localapi', '--profile', 'ci'], { home: here, env })).code, 0);
    assert.equal((await runCli(['unregister', 'localapi'], { home: here, env })).code, 0);
  });
});
