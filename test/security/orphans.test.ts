// Orphaned records as an attack: connections and a client stored under a provider name whose
// definition is gone (unregistered with --force, or written by another machine or the Python
// authsome). Whoever registers a definition under that name decides where their refresh token
// and client secret are sent. So a name with stored records counts as taken: the dashboard's
// "new providers only" refuses it, `register` wants --force, and `login <url>` will not derive a
// definition under it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { keys, Vault } from '../../src/vault/index.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { openDashboard, type DashboardSession } from '../support/dashboard-session.ts';
import { seedConnection } from '../support/make-due.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

const REFRESH_TOKEN = 'orphan-refresh-token-canary-0123456789';
const CLIENT_SECRET = 'orphan-client-secret-canary-0123456789';

/** A token endpoint run by whoever registers the new definition: it records every body it is sent. */
async function startCollector(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      bodies.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`);
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: origin, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** What an unregistered provider leaves in a profile: a connection with a refresh token, and its OAuth client. */
async function seedOrphan(home: string, provider: string, profile = 'default'): Promise<void> {
  await seedConnection(home, {
    provider, auth_type: 'oauth2', access_token: 'orphan-access-token-0123456789', refresh_token: REFRESH_TOKEN,
    expires_at: '2000-01-01T00:00:00', obtained_at: '1999-12-31T23:00:00',
  }, profile);
  const vault = new Vault({ home, secrets: {} });
  try {
    await vault.transaction(profile, (tx) => tx.write('client', keys.client(profile, provider), {
      schema_version: 2, profile, provider, client_id: 'orphan-client', client_secret: CLIENT_SECRET, base_url: null, host_url: null, scopes: null, metadata: {},
    }));
  } finally {
    await vault.close();
  }
}

const evilDefinition = (name: string, origin: string) => ({
  schema_version: 1, name, auth_type: 'oauth2', flow: 'pkce',
  oauth: { authorization_url: `${origin}/authorize`, token_url: `${origin}/token`, scopes: ['x'] },
});

let as: AuthServer;
let h: OAuthHome;
let collector: Awaited<ReturnType<typeof startCollector>>;
let dashboard: DashboardSession;

before(async () => {
  as = await startAuthServer();
  collector = await startCollector();
  h = await oauthHome();
  assert.equal((await runCli(['init'], { env: h.env })).code, 0);
  assert.equal((await runCli(['profile', 'create', 'work'], { env: h.env })).code, 0);
  // The daemon reads a store that exists when it starts (one it found missing stays empty to it).
  assert.equal((await runCli(['login', 'openai', '--api-key-stdin'], { env: h.env, input: 'sk-orphans-0123456789abcdef' })).code, 0);
  assert.equal((await runCli(['daemon', 'start'], { env: h.env })).code, 0);
  dashboard = await openDashboard(h.env);
});

after(async () => {
  await h?.cleanup();
  await collector?.close();
  await as?.close();
});

describe('a name with stored records counts as taken', () => {
  it('the dashboard refuses to register a definition over an orphaned connection, and its refresh token and client secret go nowhere', async () => {
    await seedOrphan(h.home, 'acme');
    const answer = await dashboard.action('register', { definition: JSON.stringify(evilDefinition('acme', collector.url)) }, { json: true });
    assert.equal(answer.status, 409, answer.body);
    const body = JSON.parse(answer.body) as { error: string; problems: string[]; hint: string };
    assert.equal(body.error, 'conflict');
    assert.match(body.problems.join(' '), /"acme" still has stored records in profile "default" \(connection default, OAuth client\)/);
    assert.match(body.hint, /authsome remove acme/);
    assert.equal(existsSync(join(h.home, 'providers', 'acme.json')), false, 'nothing was registered');
    // What a session holder would do next: ask for a refresh, to have the token sent to the new endpoint.
    await dashboard.action('refresh', { provider: 'acme' }, { json: true });
    assert.deepEqual(collector.bodies, [], 'the collector never heard of the orphan');
  });

  it('register on the command line refuses too, naming the profile that holds them, unless --force', async () => {
    await seedOrphan(h.home, 'initech', 'work');
    const file = join(h.home, 'initech.json');
    writeFileSync(file, JSON.stringify(evilDefinition('initech', collector.url)));
    const refused = await runCliJson<{ error: string; message: string; hint: string }>(['register', file], { env: h.env });
    assert.equal(refused.code, 2);
    assert.equal(refused.json.error, 'conflict');
    assert.match(refused.json.message, /"initech" still has stored records in profile "work" \(connection default, OAuth client\)/);
    assert.match(refused.json.hint, /authsome remove initech --profile work/);
    assert.match(refused.json.hint, /authsome register .*initech\.json --force/);
    const forced = await runCli(['register', file, '--force'], { env: h.env });
    assert.equal(forced.code, 0, forced.stderr);
  });

  it('login <url> does not derive a definition under a name that holds orphaned records', async () => {
    const name = `127.0.0.1-${new URL(as.resourceUrl).port}`;
    await seedOrphan(h.home, name);
    await as.resetCounts();
    const login = await runCliJson<{ error: string; message: string }>(['login', as.resourceUrl, '--no-browser'], { env: h.env });
    assert.equal(login.code, 2, JSON.stringify(login.json));
    assert.equal(login.json.error, 'conflict');
    assert.match(login.json.message, new RegExp(`"${name.replaceAll('.', '\\.')}" still has stored records`));
    assert.equal(existsSync(join(h.home, 'providers', `${name}.json`)), false);
    const counts = await as.counts();
    assert.equal(Object.values(counts.token).reduce((n, c) => n + c, 0), 0, 'no token request reached the server');
  });
});
