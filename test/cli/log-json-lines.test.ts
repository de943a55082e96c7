// `authsome log --json` prints JSON Lines, so the audit snippet the documentation shows (token
// refresh failures page) runs verbatim: a shell pipes it into /usr/bin/python3, which reads one
// entry per line. The home holds a real login and a real refresh failure (the grant was rejected).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { CLI, cleanEnv, collectOutput, runCli } from '../support/cli.ts';
import { cleanupHomes, tempDir } from '../support/homes.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { startTokenGate, type TokenGate } from '../support/token-gate.ts';

/** Exactly as documented: do not reformat. */
const SNIPPET = `authsome log -n 50 --json | python3 -c "
import sys, json
for line in sys.stdin:
    e = json.loads(line)
    if 'refresh' in e.get('event', '') or e.get('status') == 'failure':
        print(e)
"`;

let as: AuthServer;
let gate: TokenGate;
let h: OAuthHome;

before(async () => {
  as = await startAuthServer();
  gate = await startTokenGate(`${as.issuer}/token`);
  h = await oauthHome();
  await h.register(testProvider(as, { oauth: { token_url: gate.url } }));
  const login = await runCli(['login', 'testas'], { env: h.env });
  assert.equal(login.code, 0, login.stderr);
  // The provider rejects the refresh token (the documented "refresh token has been revoked" case).
  gate.mode('oauth-error', { error: 'invalid_grant' });
  const refresh = await runCli(['refresh', 'testas'], { env: h.env });
  assert.equal(refresh.code, 6, refresh.stderr);
  assert.match(refresh.stderr, /^Error: refresh failed for testas \(default\): invalid_grant/);
});
after(async () => {
  await h?.cleanup();
  await gate?.close();
  await as?.close();
  cleanupHomes();
});

/** Runs a shell line with `authsome` (the built CLI) and `python3` (/usr/bin/python3) first on PATH. */
function shell(line: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = tempDir();
  writeFileSync(join(bin, 'authsome'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'authsome'), 0o755);
  symlinkSync('/usr/bin/python3', join(bin, 'python3'));
  mkdirSync(join(bin, 'empty'));
  const childEnv = cleanEnv({ NO_COLOR: '1', ...env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
  return collectOutput(spawn('sh', ['-c', line], { env: childEnv, cwd: join(bin, 'empty'), stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe('authsome log --json', { timeout: 60_000 }, () => {
  it('runs the documented audit snippet verbatim: python3 prints the refresh failure, not the login', async () => {
    const result = await shell(SNIPPET, h.env);
    assert.equal(result.code, 0, result.stderr);
    const printed = result.stdout.split('\n').filter(Boolean);
    assert.equal(printed.length, 1, result.stdout);
    assert.match(printed[0]!, /'event': 'refresh'/);
    assert.match(printed[0]!, /'provider': 'testas'/);
    assert.match(printed[0]!, /'status': 'failure'/);
    assert.match(printed[0]!, /'outcome': 'rejected'/);
    assert.doesNotMatch(result.stdout, /'event': 'login'/);
  });

  it('prints one compact object per line, nothing for an empty selection, and one error envelope on failure', async () => {
    const all = await runCli(['log', '-n', '50', '--json'], { env: h.env });
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.split('\n');
    assert.equal(lines.pop(), '', 'the output ends with a newline');
    const entries = lines.map((line) => JSON.parse(line) as { event: string; status?: string });
    assert.deepEqual(entries.map((e) => e.event), ['register', 'login', 'refresh']);
    assert.deepEqual(entries.map((e) => e.status), ['success', 'success', 'failure']);

    const none = await runCli(['log', '--event', 'no_such_event', '--json'], { env: h.env });
    assert.deepEqual([none.code, none.stdout], [0, '']);

    // Errors with --json stay the one documented envelope, a single JSON document.
    const bad = await runCli(['log', '-n', 'lots', '--json'], { env: h.env });
    assert.equal(bad.code, 2);
    assert.deepEqual(Object.keys(JSON.parse(bad.stdout)), ['error', 'message', 'hint']);
    assert.equal(JSON.parse(bad.stdout).error, 'usage');
  });
});
