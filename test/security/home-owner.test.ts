// A home that is not the user's own is refused before anything is read from it or written to it,
// as OpenSSH (StrictModes) and gpg refuse theirs: another user's home (made by root, used by
// `nobody`), a home its group or every user can write (0777), and a home in a folder every user
// can write without the sticky bit. Each refusal is home_insecure (exit 7) with the exact chown or
// chmod that fixes it, and the home is left exactly as it was; doctor reports the same.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Authsome } from '../../src/index.ts';
import { CLI, runCli, runCliJson, type CliOptions } from '../support/cli.ts';
import { cleanupHomes, openToEveryone, tempDir } from '../support/homes.ts';

after(cleanupHomes);

const KEY = 'sk-owner-test-0000000000000000';

/** Every path under root with its mode, owner, size, mtime and content hash: any read-modify-write shows. */
function snapshot(root: string): string[] {
  const lines: string[] = [];
  const visit = (path: string) => {
    const stat = statSync(path);
    const what = stat.isDirectory() ? 'dir' : `file ${stat.size} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    lines.push(`${relative(root, path) || '.'} ${(stat.mode & 0o7777).toString(8)} ${stat.uid} ${stat.mtimeMs} ${what}`);
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
  };
  visit(root);
  return lines;
}

/** A home with one stored key, written normally as root. */
async function populate(home: string): Promise<void> {
  for (const [args, input] of [[['init'], ''], [['login', 'openai', '--api-key-stdin'], KEY]] as const) {
    const result = await runCli([...args], { home, input });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
  }
}

/** Commands that read (get, list, export, whoami), write (login, init) or use the daemon: each refused, the key never printed. */
async function assertRefused(options: CliOptions, fix: RegExp): Promise<void> {
  for (const [args, input] of [
    [['get', 'openai', '--show-secret'], undefined],
    [['list'], undefined],
    [['export', '--format', 'shell'], undefined],
    [['whoami'], undefined],
    [['login', 'resend', '--api-key-stdin'], 're_new_key_000000'],
    [['init'], undefined],
    [['daemon', 'start'], undefined],
    [['daemon', 'logs'], undefined],
  ] as const) {
    // A free port, should a daemon start after all.
    const result = await runCliJson<{ error: string; message: string; hint: string }>([...args], { ...options, input, env: { AUTHSOME_PORT: '0' } });
    assert.equal(result.code, 7, `${args.join(' ')}: ${JSON.stringify(result.json)} ${result.stderr}`);
    assert.equal(result.json.error, 'home_insecure', `${args.join(' ')}: ${JSON.stringify(result.json)}`);
    assert.match(result.json.hint, fix, args.join(' '));
    assert.ok(!JSON.stringify(result.json).includes(KEY));
  }
  const human = await runCli(['get', 'openai', '--show-secret'], options);
  assert.equal(human.code, 7);
  assert.doesNotMatch(human.stdout, new RegExp(KEY));
  assert.match(human.stderr, /^Error: .* read and wrote nothing there\n/);
  assert.match(human.stderr, fix);
}

interface Doctor { healthy: boolean; findings: Array<{ check: string; status: string; message: string; fix?: string }> }

async function assertDoctorReports(options: CliOptions, fix: RegExp): Promise<void> {
  const doctor = await runCliJson<Doctor>(['doctor'], options);
  assert.equal(doctor.code, 1, JSON.stringify(doctor.json));
  assert.equal(doctor.json.healthy, false);
  // Reported, and nothing else looked at.
  assert.deepEqual(doctor.json.findings.map((f) => [f.check, f.status]), [['owner', 'error']]);
  assert.match(doctor.json.findings[0]!.fix!, fix);
}

describe('a home that is not the user\'s own', () => {
  let nobody: { uid: number; name: string };
  before(() => {
    const probe = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, '--version'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `nobody must be able to run the built CLI (runuser, readable dist/ and node_modules): ${probe.stderr}`);
    const id = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
    nobody = { uid: Number(id.stdout.trim()), name: 'nobody' };
  });

  it('another user\'s home (made by root, used by nobody) is refused with the chown that fixes it, and left as it was', async () => {
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const home = join(parent, 'home');
    await populate(home);
    // Readable by everyone, as a home shared read-only would be: nobody could read the key, and must not.
    openToEveryone(home);
    const before = snapshot(parent);
    const options = { home, user: 'nobody' };
    const fix = new RegExp(`sudo chown -R ${nobody.name} ${home} && chmod 700 ${home}`);

    await assertRefused(options, fix);
    await assertDoctorReports(options, fix);
    const doctor = await runCli(['doctor'], options);
    assert.match(doctor.stdout, new RegExp(`FAIL  owner: ${home} belongs to uid 0, not to you \\(nobody, uid ${nobody.uid}\\)`));

    assert.deepEqual(snapshot(parent), before);
    // Its owner still uses it.
    const get = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home });
    assert.equal(get.stdout, `${KEY}\n`, get.stderr);
  });

  it('a home its group and every user can write (0777) is refused with the chmod that fixes it, and left as it was', async () => {
    const home = join(tempDir(), 'home');
    await populate(home);
    chmodSync(home, 0o777);
    const before = snapshot(home);
    const fix = new RegExp(`chmod 700 ${home}\\. Then check what is in it`);

    await assertRefused({ home }, fix);
    await assertDoctorReports({ home }, fix);
    const refused = await runCliJson<{ message: string }>(['list'], { home });
    assert.match(refused.json.message, /can be written by its group and every user \(mode 0777\)/);
    assert.deepEqual(snapshot(home), before, 'the home was changed (its mode tightened, a file written)');

    // The library refuses it too.
    await assert.rejects(new Authsome({ home }).list(), { code: 'home_insecure' });

    chmodSync(home, 0o700);
    const get = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home });
    assert.equal(get.stdout, `${KEY}\n`, get.stderr);
  });

  it('a home in a folder every user can write, without the sticky bit, is refused; with it (like /tmp) it is used', async () => {
    const parent = join(tempDir(), 'shared');
    mkdirSync(parent, { mode: 0o755 });
    const home = join(parent, 'home');
    const fresh = join(parent, 'fresh');
    await populate(home);
    // Opened to every user afterwards: anyone may now rename the home away and put their own in its place.
    chmodSync(parent, 0o777);
    const before = snapshot(parent);
    const fix = new RegExp(`chmod o-w ${parent} \\(or chmod \\+t ${parent}\\)`);

    await assertRefused({ home }, fix);
    // A home not made yet is not made there.
    const init = await runCliJson<{ error: string }>(['init'], { home: fresh });
    assert.equal(init.json.error, 'home_insecure');
    assert.deepEqual(snapshot(parent), before);

    chmodSync(parent, 0o1777);
    const get = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], { home });
    assert.equal(get.stdout, `${KEY}\n`, get.stderr);
  });
});
