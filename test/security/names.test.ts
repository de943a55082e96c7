// Names as an attack: provider, connection and profile names reach file paths (provider files,
// profile folders) and store keys (profile:<p>:<provider>:connection:<c>). Every entry point —
// CLI, library, dashboard, socket API — refuses a name with "/", "..", ":" or anything else
// outside [A-Za-z0-9._-] before it touches a file or a key, and answers the same whether or not
// the file it names exists (no file-existence oracle).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { Authsome, AuthsomeError } from '../../src/index.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { openDashboard, type DashboardSession } from '../support/dashboard-session.ts';
import { cleanupHomes, tempDir } from '../support/homes.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

const KEY = 'sk-names-canary-0123456789abcdef';

/** A JSON file outside the home that a traversal could reach: a valid provider definition, so loading it would succeed. */
function victim(): { dir: string; file: string } {
  const dir = tempDir('victim-');
  const file = join(dir, 'victim.json');
  writeFileSync(file, JSON.stringify({ name: 'victim', auth_type: 'api_key', flow: 'api_key', display_name: 'VICTIM-CONTENT' }));
  return { dir, file };
}

/** The provider argument that reaches `file` (without .json) from <home>/providers/. */
const traversal = (home: string, file: string) => join('../'.repeat(home.split('/').length + 2), file.replace(/\.json$/, '')).replace(/^\//, '');

function socketGet(home: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: join(home, 'daemon.sock'), path, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
}

let h: OAuthHome;
let dashboard: DashboardSession;

before(async () => {
  h = await oauthHome();
  const login = await runCli(['login', 'openai', '--api-key-stdin'], { env: h.env, input: KEY });
  assert.equal(login.code, 0, login.stderr);
  const started = await runCli(['daemon', 'start'], { env: h.env });
  assert.equal(started.code, 0, started.stderr);
  dashboard = await openDashboard(h.env);
});

after(async () => {
  await h?.cleanup();
  cleanupHomes();
});

describe('the CLI refuses names that leave their place', () => {
  it('remove, unregister, inspect, get and login refuse a path as a provider name, and never read or delete the file', async () => {
    const { file } = victim();
    const name = traversal(h.home, file);
    for (const args of [['remove', name], ['unregister', name, '--force'], ['inspect', name], ['get', name], ['export', name], ['logout', name], ['refresh', name]]) {
      const result = await runCliJson<{ error: string; message: string }>(args, { env: h.env });
      assert.equal(result.code, 2, `${args[0]}: ${JSON.stringify(result.json)}`);
      assert.equal(result.json.error, 'input_invalid', args[0]);
      assert.doesNotMatch(JSON.stringify(result.json), /VICTIM-CONTENT/);
    }
    const login = await runCli(['login', name, '--api-key-stdin'], { env: h.env, input: KEY });
    assert.equal(login.code, 2, login.stderr);
    assert.ok(existsSync(file), 'the file is still there');
    assert.match(readFileSync(file, 'utf8'), /VICTIM-CONTENT/);
  });

  it('answers the same for a path that exists and one that does not (no file-existence oracle)', async () => {
    const { file } = victim();
    const present = await runCliJson(['inspect', traversal(h.home, file)], { env: h.env });
    const absent = await runCliJson(['inspect', traversal(h.home, file.replace('victim.json', 'nothing-here.json'))], { env: h.env });
    assert.equal(present.code, absent.code);
    assert.deepEqual(Object.keys(present.json as object), Object.keys(absent.json as object));
    assert.equal((present.json as { error: string }).error, 'input_invalid');
  });

  it('refuses ":" in provider, connection and profile names (they are part of store keys)', async () => {
    for (const args of [['get', 'openai:connection:default'], ['get', 'openai', '--connection', 'a:b'], ['set-default', 'openai', 'x:y'], ['profile', 'create', 'a:b']]) {
      const result = await runCliJson<{ error: string }>(args, { env: h.env });
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.json.error, 'input_invalid', args.join(' '));
    }
    const login = await runCli(['login', 'openai', '--api-key-stdin', '--connection', 'work:evil'], { env: h.env, input: KEY });
    assert.equal(login.code, 2);
  });

  it('refuses a profile name that is a path, before any folder or store file is made', async () => {
    const outside = tempDir('profile-escape-');
    const profile = join('../'.repeat(h.home.split('/').length + 2), outside, 'evil').replace(/^\//, '');
    for (const args of [['get', 'openai', '--profile', profile], ['login', 'openai', '--api-key-stdin', '--profile', profile], ['list', '--profile', profile]]) {
      const result = await runCli([...args, '--json'], { env: h.env, input: KEY });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    }
    const env = { ...h.env, AUTHSOME_PROFILE: '../escape' };
    assert.equal((await runCli(['get', 'openai'], { env })).code, 2);
    assert.deepEqual(readdirSync(outside), [], 'nothing was created outside the home');
  });
});

describe('the library, the socket API and the dashboard refuse them too', () => {
  it('the library throws input_invalid for a path or ":" in any name', async () => {
    const authsome = new Authsome({ home: h.home, env: {} });
    try {
      const { file } = victim();
      for (const call of [
        () => authsome.inspect(traversal(h.home, file)),
        () => authsome.get('../openai'),
        () => authsome.remove(traversal(h.home, file)),
        () => authsome.getSecret('openai', { connection: 'a/b' }),
        () => authsome.loginWithApiKey('openai', KEY, { connection: 'x:y' }),
        () => authsome.setDefault('openai', '..'),
        () => authsome.export('a:b'),
      ]) {
        await assert.rejects(call, (error: unknown) => error instanceof AuthsomeError && error.code === 'input_invalid');
      }
      await assert.rejects(() => new Authsome({ home: h.home, profile: '../x', env: {} }).get('openai'), (error: unknown) => error instanceof AuthsomeError && error.code === 'input_invalid');
    } finally {
      await authsome.close();
    }
  });

  it('the socket API answers 400 input_invalid for an encoded path, whether the file exists or not', async () => {
    const { file } = victim();
    const present = await socketGet(h.home, `/v1/credentials/${encodeURIComponent(traversal(h.home, file))}`);
    const absent = await socketGet(h.home, `/v1/credentials/${encodeURIComponent(traversal(h.home, file.replace('victim', 'absent')))}`);
    assert.equal(present.status, 400, present.body);
    assert.equal(JSON.parse(present.body).error, 'input_invalid');
    assert.deepEqual([absent.status, JSON.parse(absent.body).error], [400, 'input_invalid']);
    const colon = await socketGet(h.home, '/v1/credentials/openai?connection=a%3Ab');
    assert.equal(colon.status, 400, colon.body);
  });

  it('the dashboard gives the same answer for a path that exists and one that does not', async () => {
    const { file } = victim();
    mkdirSync(join(h.home, 'providers'), { recursive: true });
    const answers = [];
    for (const target of [file, file.replace('victim', 'absent')]) {
      for (const action of ['connect', 'refresh', 'disconnect']) {
        const answer = await dashboard.action(action, { provider: traversal(h.home, target) }, { json: true });
        answers.push({ action, status: answer.status, error: JSON.parse(answer.body).error });
        assert.doesNotMatch(answer.body, /VICTIM-CONTENT|victim\.json/);
      }
    }
    assert.deepEqual(answers.map((a) => [a.action, a.status, a.error]), [
      ['connect', 400, 'input_invalid'], ['refresh', 400, 'input_invalid'], ['disconnect', 400, 'input_invalid'],
      ['connect', 400, 'input_invalid'], ['refresh', 400, 'input_invalid'], ['disconnect', 400, 'input_invalid'],
    ]);
    const connection = await dashboard.action('connect', { provider: 'openai', connection: 'a:b' }, { json: true });
    assert.equal(connection.status, 400, connection.body);
  });
});
