// The library door: new Authsome({ home, profile }) does what the CLI does, with typed results and
// AuthsomeError codes that callers switch on.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Authsome, AuthsomeError, Secret } from '../../src/index.ts';
import { runCli } from '../support/cli.ts';
import { cleanupHomes, fixtureHome, freshHome } from '../support/homes.ts';

after(cleanupHomes);

describe('Authsome library', () => {
  test('reads the Python store: list, get, secrets, headers', async () => {
    const warnings: string[] = [];
    const authsome = new Authsome({ home: fixtureHome(), env: {}, onWarning: (message) => warnings.push(message) });
    const list = await authsome.list();
    const github = list.providers.find((p) => p.name === 'github')!;
    assert.deepEqual(github.connections.map((c) => [c.connection_name, c.status]), [['default', 'connected'], ['work', 'expired']]);
    assert.equal(await authsome.getSecret('openai'), 'sk-fixture-openai-000000000000');
    assert.deepEqual(await authsome.authHeaders('github'), { Authorization: 'Bearer gho_fixture_access_1' });
    assert.deepEqual(await authsome.authHeaders('localtest'), { 'X-Api-Key': 'Token lt-fixture12345' });
    assert.equal(await authsome.getField('github', 'status', { connection: 'work' }), 'expired');
    assert.match(warnings.join('\n'), /the access token of github \(work\) has expired and the provider issued no refresh token/, 'why it cannot be renewed is reported');
    assert.equal((await authsome.get('github')).access_token, 'gho_****');
    await authsome.close();
  });

  test('profile option selects the profile', async () => {
    const authsome = new Authsome({ home: fixtureHome(), profile: 'work', env: {} });
    assert.equal(await authsome.getSecret('resend'), 'sk-ant-fixture-000');
    await authsome.close();
  });

  test('logs in with an API key and fails with stable codes', async () => {
    const authsome = new Authsome({ home: freshHome(), env: {} });
    await authsome.init();
    const result = await authsome.loginWithApiKey('openai', 'sk-library-000000000000');
    assert.deepEqual([result.provider, result.connection, result.replaced], ['openai', 'default', false]);
    await assert.rejects(authsome.loginWithApiKey('openai', 'sk-library-111111111111'), (e: unknown) => e instanceof AuthsomeError && e.code === 'conflict' && e.exitCode === 2);
    await assert.rejects(authsome.getSecret('anthropic'), (e: unknown) => e instanceof AuthsomeError && e.code === 'credential_missing' && e.exitCode === 5);
    await assert.rejects(authsome.getSecret('nope'), (e: unknown) => e instanceof AuthsomeError && e.code === 'provider_not_found' && e.exitCode === 3);
    const { variables } = await authsome.export('openai');
    assert.deepEqual(variables.map((v) => [v.name, v.value]), [['OPENAI_API_KEY', 'sk-library-000000000000']]);
    await authsome.close();
  });

  test('a Secret never prints its value', () => {
    const secret = new Secret('gho_abcdefghijklmnop');
    assert.equal(String(secret), 'gho_****');
    assert.equal(JSON.stringify({ secret }), '{"secret":"gho_****"}');
    assert.equal(inspect(secret), 'Secret(gho_****)');
    assert.equal(secret.reveal(), 'gho_abcdefghijklmnop');
  });
});

describe('authHeaders per provider definition', () => {
  test('basic auth follows basic_template; headers and prefixes follow the definition', async () => {
    const authsome = new Authsome({ home: freshHome(), env: {} });
    await authsome.loginWithApiKey('ashby', 'ashby-key-123');
    await authsome.loginWithApiKey('lemlist', 'lemlist-key-123');
    await authsome.loginWithApiKey('anthropic', 'sk-ant-api03-abcdef');
    const basic = (h: Record<string, string>) => Buffer.from(h.Authorization!.replace(/^Basic /, ''), 'base64').toString();
    assert.equal(basic(await authsome.authHeaders('ashby')), 'ashby-key-123:');
    assert.equal(basic(await authsome.authHeaders('lemlist')), ':lemlist-key-123');
    assert.deepEqual(await authsome.authHeaders('anthropic'), { 'x-api-key': 'sk-ant-api03-abcdef' });
    await authsome.close();
  });

  test('a long-lived instance that looked before the store existed sees what another process stores later', async () => {
    const home = freshHome();
    const daemonLike = new Authsome({ home, env: {} });
    await assert.rejects(daemonLike.getSecret('openai'), (error: AuthsomeError) => error.code === 'credential_missing');
    const other = await runCli(['login', 'openai', '--api-key-stdin'], { home, input: 'sk-later-000000000000' });
    assert.equal(other.code, 0, other.stderr);
    assert.equal(await daemonLike.getSecret('openai'), 'sk-later-000000000000');
    await daemonLike.close();
  });
});
