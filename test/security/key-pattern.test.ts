// A provider's key_pattern as an attack: the pattern is the definition's, and a backtracking
// engine takes exponential time on ^(a+)+$ — a 29-character key froze the daemon for 55 s, and
// every login waiting on it with it. Patterns run in RE2 (linear time) and match the whole key,
// as Python's re.fullmatch does; one RE2 cannot run is refused when it is registered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { CLI, cleanEnv, runCli, runCliJson, startCli } from '../support/cli.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

const CATASTROPHIC = '^(a+)+$';
const KEY = 'a'.repeat(29) + '!';
/** Generous for a loaded 2-core machine, and far below what the backtracking engine needs for 29 characters. */
const DEADLINE_MS = 15_000;

/** The CLI with a deadline: killed and reported as such if it has not finished by then. */
function cliWithin(args: string[], env: Record<string, string>, input: string): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv({ NO_COLOR: '1', ...env }), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, DEADLINE_MS);
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
    child.stdin.end(input);
  });
}

function post(url: string, form: Record<string, string>, origin: string): Promise<{ status: number; body: string }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST', timeout: DEADLINE_MS,
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${DEADLINE_MS} ms: the daemon is stuck`)));
    req.on('error', reject);
    req.end(body);
  });
}

let h: OAuthHome;

before(async () => {
  h = await oauthHome();
  const file = join(h.home, 'slowpat.json');
  writeFileSync(file, JSON.stringify({ name: 'slowpat', auth_type: 'api_key', flow: 'api_key', api_key: { key_pattern: CATASTROPHIC, key_pattern_hint: 'Only a letters.' } }));
  assert.equal((await runCli(['register', file], { env: h.env })).code, 0);
});

after(async () => h?.cleanup());

describe('a catastrophic key_pattern', () => {
  it('login --api-key-stdin refuses the key at once instead of backtracking for a minute', async () => {
    const started = Date.now();
    const login = await cliWithin(['login', 'slowpat', '--api-key-stdin'], h.env, KEY);
    assert.equal(login.timedOut, false, `login was still matching after ${DEADLINE_MS} ms`);
    assert.equal(login.code, 2, login.stderr);
    assert.match(login.stderr, /that does not look like an API key for slowpat\nOnly a letters\./);
    assert.ok(Date.now() - started < DEADLINE_MS);
    const good = await cliWithin(['login', 'slowpat', '--api-key-stdin'], h.env, 'a'.repeat(29));
    assert.equal(good.code, 0, good.stderr);
  });

  it('the daemon checks the local form\'s value without freezing, and keeps answering', async () => {
    const cli = startCli(['login', 'slowpat', '--form', '--connection', 'viaform', '--no-browser'], { env: h.env });
    try {
      const [, url] = await cli.waitForStderr(/(http:\/\/127\.0\.0\.1:\d+\/input\/[\w-]+)/);
      const origin = new URL(url!).origin;
      const form = await new Promise<string>((resolve, reject) => http.get(url!, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(text));
      }).on('error', reject));
      const csrf = /name="csrf" value="([^"]+)"/.exec(form)![1]!;
      const answer = await post(url!, { csrf, api_key: KEY }, origin);
      assert.equal(answer.status, 422, 'the value is sent back to the form with the hint');
      assert.match(answer.body, /Only a letters\./);
      const status = await runCliJson<{ sessions: number }>(['daemon', 'status'], { env: h.env });
      assert.equal(status.code, 0);
    } finally {
      cli.kill();
      await cli.done;
    }
  });
});

describe('Python semantics and RE2 syntax', () => {
  it('the whole key must match (re.fullmatch), not a part of it', async () => {
    const file = join(h.home, 'prefixed.json');
    writeFileSync(file, JSON.stringify({ name: 'prefixed', auth_type: 'api_key', flow: 'api_key', api_key: { key_pattern: 'pk_[a-z]+' } }));
    assert.equal((await runCli(['register', file], { env: h.env })).code, 0);
    assert.equal((await runCli(['login', 'prefixed', '--api-key-stdin'], { env: h.env, input: 'xx-pk_abc-yy' })).code, 2, 'a match inside the key is not enough');
    assert.equal((await runCli(['login', 'prefixed', '--api-key-stdin'], { env: h.env, input: 'pk_abc' })).code, 0);
  });

  it('a pattern RE2 cannot run (a backreference, a lookahead) is refused when registered, and Python\'s (?P<name>…) is accepted', async () => {
    for (const pattern of ['^(a)\\1$', '^(?=sk-).+$']) {
      const file = join(h.home, 'backref.json');
      writeFileSync(file, JSON.stringify({ name: 'backref', auth_type: 'api_key', flow: 'api_key', api_key: { key_pattern: pattern } }));
      const refused = await runCliJson<{ error: string; message: string }>(['register', file], { env: h.env });
      assert.equal(refused.code, 3, pattern);
      assert.equal(refused.json.error, 'provider_invalid');
      assert.match(refused.json.message, /api_key\.key_pattern: is not a regular expression authsome can check in linear time/);
    }
    const file = join(h.home, 'named.json');
    writeFileSync(file, JSON.stringify({ name: 'named', auth_type: 'api_key', flow: 'api_key', api_key: { key_pattern: '(?P<prefix>nk_)[0-9]+' } }));
    assert.equal((await runCli(['register', file], { env: h.env })).code, 0);
    assert.equal((await runCli(['login', 'named', '--api-key-stdin'], { env: h.env, input: 'nk_123' })).code, 0);
  });
});
