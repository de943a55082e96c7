// A home of the user's own that this process cannot write — a read-only mount, a full disk — still
// serves every pure read with the stored values; only writes fail, with home_not_writable naming
// the path and the cause. Each home is made unwritable for real (a read-only bind mount, a small
// full tmpfs), never simulated. Another user's home is not read at all (home_insecure; the attacks
// are in test/security/home-owner.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { chmodSync, closeSync, mkdirSync, openSync, rmSync, statfsSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli, runCliJson, type CliOptions } from '../support/cli.ts';
import { cleanupHomes, openToEveryone, tempDir } from '../support/homes.ts';
import { seedConnection } from '../support/make-due.ts';

const mounts: string[] = [];
after(() => {
  for (const mount of mounts.splice(0).reverse()) spawnSync('umount', [mount]);
  cleanupHomes();
});

function mount(args: string[]): void {
  const result = spawnSync('mount', args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `mount ${args.join(' ')}: ${result.stderr} (these tests need root and mount)`);
  mounts.push(args[args.length - 1]!);
}

const KEYS = { openai: 'sk-readonly-openai-0000000000', work: 'sk-readonly-work-1111111111', resend: 're_readonly_resend_2222' };

/** A home with three API-key connections, written normally (as root, on a writable disk). */
async function populate(home: string): Promise<void> {
  for (const [args, input] of [
    [['init'], ''],
    [['login', 'openai', '--api-key-stdin'], KEYS.openai],
    [['login', 'openai', '--connection', 'work', '--api-key-stdin'], KEYS.work],
    [['login', 'resend', '--api-key-stdin'], KEYS.resend],
  ] as const) {
    const result = await runCli([...args], { home, input });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
  }
}

/** get, list, export, inspect and whoami all succeed and show what is stored. */
async function assertReadsWork(options: CliOptions): Promise<void> {
  const get = await runCli(['get', 'openai', '--field', 'api_key', '--show-secret'], options);
  assert.equal(get.code, 0, `get: ${get.stderr}`);
  assert.equal(get.stdout, `${KEYS.openai}\n`);
  // An audit entry that cannot be written is a warning at most, never the command's outcome.
  assert.doesNotMatch(get.stderr, /^Error/m);

  const work = await runCliJson<Record<string, unknown>>(['get', 'openai', '--connection', 'work', '--show-secret'], options);
  assert.equal(work.code, 0, work.stderr);
  assert.equal(work.json['api_key'], KEYS.work);

  const list = await runCliJson<{ bundled: Array<{ name: string; connections: Array<{ connection_name: string; status: string }> }> }>(['list'], options);
  assert.equal(list.code, 0, list.stderr);
  const openai = list.json.bundled.find((p) => p.name === 'openai')!;
  assert.deepEqual(openai.connections.map((c) => [c.connection_name, c.status]).sort(), [['default', 'connected'], ['work', 'connected']]);

  const exported = await runCli(['export', '--format', 'shell'], options);
  assert.equal(exported.code, 0, `export: ${exported.stderr}`);
  assert.match(exported.stdout, new RegExp(`OPENAI_API_KEY=.?${KEYS.openai}`));
  assert.match(exported.stdout, new RegExp(`RESEND_API_KEY=.?${KEYS.resend}`));

  const inspect = await runCli(['inspect', 'resend'], options);
  assert.equal(inspect.code, 0, `inspect: ${inspect.stderr}`);

  const whoami = await runCliJson<{ connections: number; key_source: string }>(['whoami'], options);
  assert.equal(whoami.code, 0, whoami.stderr);
  assert.deepEqual([whoami.json.connections, whoami.json.key_source], [3, 'local_key']);
}

/** A write fails with exit 7 home_not_writable, naming a path in the home and the cause. */
async function assertWriteRefused(home: string, options: CliOptions, cause: string): Promise<void> {
  const login = await runCliJson<{ error: string; message: string }>(['login', 'groq', '--api-key-stdin'], { ...options, input: 'gsk_new0000000000' });
  assert.equal(login.code, 7, JSON.stringify(login.json));
  assert.equal(login.json.error, 'home_not_writable');
  assert.ok(login.json.message.startsWith(`cannot write ${home}`), login.json.message);
  assert.ok(login.json.message.includes(`(${cause})`), login.json.message);
  const human = await runCli(['login', 'openai', '--connection', 'third', '--api-key-stdin'], { ...options, input: 'sk-third-000000000000' });
  assert.equal(human.code, 7);
  assert.match(human.stderr, new RegExp(`^Error: cannot write ${home}\\S* \\(${cause}\\)`));
}

describe('a read-only home', () => {
  test('on a read-only mount (EROFS): reads work, doctor warns, login fails with home_not_writable', async () => {
    const home = join(tempDir(), 'home');
    await populate(home);
    const readOnly = join(tempDir(), 'ro-home');
    mkdirSync(readOnly);
    mount(['--bind', home, readOnly]);
    mount(['-o', 'remount,bind,ro', readOnly]);
    const options = { home: readOnly };

    await assertReadsWork(options);
    const doctor = await runCliJson<{ healthy: boolean; findings: Array<{ check: string; status: string; message: string }> }>(['doctor'], options);
    assert.equal(doctor.code, 0, JSON.stringify(doctor.json.findings));
    const writable = doctor.json.findings.find((f) => f.check === 'writable');
    assert.equal(writable?.status, 'warning');
    assert.match(writable!.message, /EROFS/);
    assert.ok(doctor.json.findings.some((f) => f.check === 'profile default' && f.status === 'ok'), JSON.stringify(doctor.json.findings));
    await assertWriteRefused(readOnly, options, 'EROFS');
  });

  test('a due OAuth token on a read-only mount: home_not_writable before the refresh token is spent', async () => {
    // A token endpoint that only counts: a request reaching it would spend the refresh token.
    let requests = 0;
    const endpoint: Server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const home = join(tempDir(), 'home');
      await populate(home);
      const { port } = endpoint.address() as { port: number };
      const definition = join(tempDir(), 'counted.json');
      writeFileSync(definition, JSON.stringify({
        schema_version: 1, name: 'counted', auth_type: 'oauth2', flow: 'pkce',
        oauth: { authorization_url: `http://127.0.0.1:${port}/authorize`, token_url: `http://127.0.0.1:${port}/token`, scopes: ['read'] },
        client: { client_id_env: 'COUNTED_CLIENT_ID' },
      }));
      assert.equal((await runCli(['register', definition], { home })).code, 0);
      const past = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
      await seedConnection(home, { provider: 'counted', access_token: 'at-old-0000', refresh_token: 'rt-unspent-0000', expires_at: past, obtained_at: past });
      const readOnly = join(tempDir(), 'ro-home');
      mkdirSync(readOnly);
      mount(['--bind', home, readOnly]);
      mount(['-o', 'remount,bind,ro', readOnly]);

      const get = await runCliJson<{ error: string; message: string }>(['get', 'counted', '--field', 'access_token', '--show-secret'], { home: readOnly, env: { COUNTED_CLIENT_ID: 'client-1' } });
      assert.equal(get.code, 7, JSON.stringify(get.json));
      assert.equal(get.json.error, 'home_not_writable');
      assert.match(get.json.message, /\(EROFS\)/);
      assert.equal(requests, 0, 'the token endpoint was called');
    } finally {
      endpoint.close();
    }
  });

  test('owned by another user (run as nobody): neither read nor written, refused with home_insecure', async () => {
    const probe = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, '--version'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `nobody must be able to run the built CLI (runuser, readable dist/ and node_modules): ${probe.stderr}`);
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const home = join(parent, 'home');
    await populate(home);
    // Readable by everyone, writable only by root: once a shared, read-only deployment; now another user's home, as ssh sees it.
    openToEveryone(home);
    const options = { home, user: 'nobody' };

    const get = await runCliJson<{ error: string; hint: string }>(['get', 'openai', '--show-secret'], options);
    assert.equal(get.code, 7, JSON.stringify(get.json));
    assert.equal(get.json.error, 'home_insecure');
    assert.ok(!JSON.stringify(get.json).includes(KEYS.openai));
    assert.match(get.json.hint, new RegExp(`sudo chown -R nobody ${home}`));
    const login = await runCliJson<{ error: string }>(['login', 'groq', '--api-key-stdin'], { ...options, input: 'gsk_new0000000000' });
    assert.deepEqual([login.code, login.json.error], [7, 'home_insecure']);
    // Its owner still reads it.
    await assertReadsWork({ home });
  });
});

describe('a full disk', () => {
  let disk = '';
  before(() => {
    disk = join(tempDir(), 'disk');
    mkdirSync(disk);
    mount(['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', disk]);
  });

  test('reads keep working; a login fails with home_not_writable (ENOSPC) and loses nothing', async () => {
    const home = join(disk, 'home');
    await populate(home);
    // Fill every block that is left.
    const filler = join(disk, 'filler');
    const fd = openSync(filler, 'w');
    try {
      for (const size of [65536, 4096, 512, 1]) {
        try {
          for (;;) writeSync(fd, Buffer.alloc(size));
        } catch (error) {
          assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
        }
      }
    } finally {
      closeSync(fd);
    }
    assert.equal(statfsSync(disk).bavail, 0);

    await assertReadsWork({ home });
    await assertWriteRefused(home, { home }, 'ENOSPC');

    // Space again: everything stored before is intact, and writes work.
    rmSync(filler);
    assert.ok(statSync(home).isDirectory());
    await assertReadsWork({ home });
    const login = await runCli(['login', 'groq', '--api-key-stdin'], { home, input: 'gsk_after0000000000' });
    assert.equal(login.code, 0, login.stderr);
  });
});
