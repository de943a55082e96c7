// Reading another profile of the home (what the dashboard's profile switcher does): the profile is
// checked as a name and against the home's profiles before anything is opened, the view shares the
// store, and connectionUsage gives names and a routed URL, never a value.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Authsome, AuthsomeError } from '../../src/index.ts';
import { cleanupHomes, freshHome } from '../support/homes.ts';

after(cleanupHomes);

const KEY = 'sk-profileview-canary-0123456789abcdef';

test('list, storedView and connectionUsage read another profile, checked by name, with no secret', async () => {
  const home = freshHome();
  const setup = new Authsome({ home, env: {} });
  await setup.init();
  setup.createProfile('side');
  await setup.close();
  const side = new Authsome({ home, profile: 'side', env: {} });
  await side.loginWithApiKey('openai', KEY, { connection: 'personal' });
  await side.close();

  const authsome = new Authsome({ home, env: {} });
  try {
    assert.equal(authsome.profile, 'default');
    assert.deepEqual((await authsome.list()).providers.flatMap((p) => p.connections), []);
    const list = await authsome.list({ profile: 'side' });
    assert.equal(list.profile, 'side');
    assert.deepEqual(list.providers.filter((p) => p.connections.length).map((p) => [p.name, p.connections.map((c) => c.connection_name)]), [['openai', ['personal']]]);
    assert.equal((await authsome.storedView('openai', { connection: 'personal', profile: 'side' })).api_key, 'sk-****');
    const usage = await authsome.connectionUsage({ profile: 'side' });
    assert.deepEqual(usage, [{ provider: 'openai', connection: 'personal', auth_type: 'api_key', env_vars: ['OPENAI_API_KEY'], url: 'https://api.openai.com/' }]);
    assert.ok(!JSON.stringify(usage).includes(KEY));
    assert.deepEqual(await authsome.connectionUsage(), [], 'its own profile is still the default one');

    await assert.rejects(authsome.list({ profile: '../side' }), (e: unknown) => e instanceof AuthsomeError && e.code === 'input_invalid');
    await assert.rejects(authsome.list({ profile: 'nope' }), (e: unknown) => e instanceof AuthsomeError && e.code === 'profile_not_found');
    await assert.rejects(authsome.storedView('openai', { connection: 'personal', profile: 'nope' }), (e: unknown) => e instanceof AuthsomeError && e.code === 'profile_not_found');
  } finally {
    await authsome.close();
  }
});
