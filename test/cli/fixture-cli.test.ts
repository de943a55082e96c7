// The CLI over a store written by the Python authsome: list, get, log and the work profile, with
// the outputs a script written for the Python CLI expects (cli-outputs/).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson, runCliJsonLines } from '../support/cli.ts';
import { FIXTURE_DIR, cleanupHomes, fixtureHome } from '../support/homes.ts';

const pythonOutput = (name: string) => readFileSync(join(FIXTURE_DIR, 'cli-outputs', name), 'utf8');
after(cleanupHomes);

interface ListedProvider { name: string; auth_type: string; source: string; state: string; connections: Array<Record<string, unknown>> }

describe('authsome list on the Python store', () => {
  test('connections match the Python CLI field for field, with state added', async () => {
    const home = fixtureHome();
    const { code, json } = await runCliJson<{ bundled: ListedProvider[]; custom: ListedProvider[] }>(['list'], { home });
    assert.equal(code, 0);
    const python = JSON.parse(pythonOutput('list_--json.txt')) as { bundled: ListedProvider[]; custom: ListedProvider[] };
    const ours = new Map([...json.bundled, ...json.custom].map((p) => [p.name, p]));
    for (const theirs of [...python.bundled, ...python.custom]) {
      const mine = ours.get(theirs.name);
      assert.ok(mine, `${theirs.name} is listed`);
      assert.equal(mine.auth_type, theirs.auth_type, `${theirs.name} auth_type`);
      assert.equal(mine.source, theirs.source, `${theirs.name} source`);
      assert.equal(mine.connections.length, theirs.connections.length, `${theirs.name} connection count`);
      theirs.connections.forEach((connection, i) => {
        for (const [field, value] of Object.entries(connection)) {
          // Timestamps name the same instant in the one format of every output (`Z`, where Python's list printed `+00:00`).
          if (field.endsWith('_at') && typeof value === 'string') assert.equal(new Date(mine.connections[i]![field] as string).getTime(), new Date(value).getTime(), `${theirs.name}.${field}`);
          else assert.deepEqual(mine.connections[i]![field], value, `${theirs.name}.${field}`);
        }
      });
    }
    assert.equal(ours.get('github')!.state, 'connected');
    assert.equal(ours.get('localtest')!.source, 'custom');
    assert.equal(ours.get('anthropic')!.state, 'available');
  });

  test('the human table names each connection and its state', async () => {
    const { code, stdout } = await runCli(['list', '--connected'], { home: fixtureHome() });
    assert.equal(code, 0);
    assert.match(stdout, /^github\s+oauth2\s+connected\s+default\* \(connected, expires 2030-01-01T00:00:00Z\), work \(expired/m);
    assert.match(stdout, /^openai\s+api_key\s+connected\s+default \(connected\)/m);
    assert.doesNotMatch(stdout, /anthropic/);
  });
});

describe('authsome get on the Python store', () => {
  test('get github --json is the record with secrets masked to their prefix', async () => {
    const { code, json } = await runCliJson<Record<string, unknown>>(['get', 'github'], { home: fixtureHome() });
    assert.equal(code, 0);
    const python = JSON.parse(pythonOutput('get_github_--json.txt')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), Object.keys(python), 'same fields in the same order');
    for (const [field, value] of Object.entries(python)) {
      if (value === '***REDACTED***') continue;
      assert.deepEqual(json[field], value, field);
    }
    assert.equal(json.access_token, 'gho_****');
    assert.equal(json.refresh_token, 'ghr_****');
  });

  test('get github --connection work --field status prints what the Python CLI printed', async () => {
    // The token is past its expiry, so this get is an access call (the Python CLI's was not): with no
    // refresh token to renew it, the same status is printed, and why it cannot be renewed is said.
    const { code, stdout, stderr } = await runCli(['get', 'github', '--connection', 'work', '--field', 'status'], { home: fixtureHome() });
    assert.equal(code, 6, stderr);
    assert.match(stderr, /^Error: the access token of github \(work\) has expired and the provider issued no refresh token\nLog in again: authsome login github --force --connection work\n/);
    assert.equal(stdout, pythonOutput('get_github_--connection_work_--field_status.txt'));
  });

  test('--field api_key --show-secret prints the bare key; without --show-secret it is masked', async () => {
    const home = fixtureHome();
    const shown = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home });
    assert.deepEqual([shown.code, shown.stdout], [0, 'sk-fixture-openai-000000000000\n']);
    const masked = await runCli(['get', 'openai', '--field', 'api_key'], { home });
    assert.deepEqual([masked.code, masked.stdout], [0, 'sk-****\n']);
  });

  test('the work profile holds its own connections', async () => {
    const home = fixtureHome();
    const work = await runCli(['get', 'resend', '--field', 'api_key', '--show-secret', '--profile', 'work'], { home });
    assert.deepEqual([work.code, work.stdout], [0, 'sk-ant-fixture-000\n']);
    const viaEnv = await runCli(['get', 'resend', '--field', 'host_url'], { home, env: { AUTHSOME_PROFILE: 'work' } });
    assert.deepEqual([viaEnv.code, viaEnv.stdout], [0, 'api.resend.com\n']);
    const missing = await runCli(['get', 'resend'], { home });
    assert.equal(missing.code, 5, 'the default profile has no resend connection');
    assert.match(missing.stderr, /no connection "default" for resend in profile "default"/);
  });

  test('the custom localtest definition comes from providers/', async () => {
    const home = fixtureHome();
    const { code, json } = await runCliJson<{ source: string; definition: { name: string; api_key: { header_name: string } } }>(['inspect', 'localtest'], { home });
    assert.equal(code, 0);
    assert.equal(json.source, 'custom');
    assert.equal(json.definition.api_key.header_name, 'X-Api-Key');
    const key = await runCli(['get', 'localtest', '--field', 'api_key', '--show-secret'], { home });
    assert.equal(key.stdout, 'lt-fixture12345\n');
  });

  test('an unknown provider exits 3', async () => {
    const result = await runCli(['get', 'nosuchprovider'], { home: fixtureHome() });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /^Error: provider "nosuchprovider" was not found/);
  });
});

describe('authsome log on the Python store', () => {
  test('log -n 20 --json returns the Python audit entries, one JSON object per line, timestamps in the one format', async () => {
    const { code, lines } = await runCliJsonLines(['log', '-n', '20'], { home: fixtureHome() });
    assert.equal(code, 0);
    // The Python authsome printed one array with `+00:00` timestamps; the documented format is JSON
    // Lines, the same entries, each timestamp the same instant in the contract's format (`…Z`).
    const python = (JSON.parse(pythonOutput('log_-n_20_--json.txt')) as Array<{ timestamp: string }>)
      .map((entry) => ({ ...entry, timestamp: entry.timestamp.replace(/\+00:00$/, 'Z') }));
    assert.deepEqual(lines, python);
  });
});
