// The authsome process itself, as an attack surface. A crash with core dumps on wrote the CLI's
// memory — the decrypted key among it — to a core file any process of the user can read; every
// authsome process (CLI, run's proxy, daemon) now leaves its memory out of core dumps (Linux's
// /proc/self/coredump_filter; Node has no setrlimit). And a test-only switch that redirects run's
// upstream connections (AUTHSOME_PROXY_CONNECT_TO) is inert unless the tests' own flag is set.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { CLI, cleanEnv, collectOutput, runCli, runCliJson, type ProcessOutput } from '../support/cli.ts';
import { tempDir, cleanupHomes } from '../support/homes.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';
import { ACME_KEY, acme, proxyFixture } from '../proxy/harness.ts';

const KEY = 'sk-coredump-canary-0123456789abcdef';
/** Where the kernel writes core files: a file name in the crashing process's folder ("core"), or a pipe to a collector. */
const CORE_PATTERN = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();

/** Runs `script` in sh with core dumps allowed (`ulimit -c unlimited`), in `cwd`. */
function shell(script: string, cwd: string, env: Record<string, string>): Promise<ProcessOutput> {
  return collectOutput(spawn('sh', ['-c', `ulimit -c unlimited; ${script}`], { cwd, env: cleanEnv(env) }));
}

after(cleanupHomes);

describe('core dumps', () => {
  let h: OAuthHome;
  before(async () => {
    h = await oauthHome();
    const login = await runCli(['login', 'openai', '--api-key-stdin'], { env: h.env, input: KEY });
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => h?.cleanup());

  it('a CLI process that crashes while it holds the key (run\'s proxy) leaves no memory in its core dump', async () => {
    const dir = tempDir('core-');
    // The child aborts its parent — the authsome process that read the key to route it — and says what its filter was.
    const crashed = await shell(`exec "${process.execPath}" "${CLI}" run -- sh -c 'cat /proc/$PPID/coredump_filter; kill -ABRT $PPID; sleep 1'`, dir, h.env);
    assert.equal(crashed.signal, 'SIGABRT', `run was aborted: ${crashed.stderr}`);
    assert.equal(crashed.stdout.trim(), '00000000', 'no memory mapping is dumped');
    if (CORE_PATTERN.startsWith('|')) {
      // A collector (systemd-coredump, apport) takes cores here; the filter above is what it honours.
      console.error(`# core_pattern pipes to ${CORE_PATTERN}: the core file itself is not inspected`);
      return;
    }
    const cores = readdirSync(dir).filter((name) => name.startsWith('core'));
    assert.ok(cores.length > 0, `a core file was written in ${dir} (core_pattern ${CORE_PATTERN})`);
    for (const core of cores) {
      const bytes = readFileSync(join(dir, core));
      assert.equal(bytes.indexOf(KEY), -1, `the key is not in ${core} (${bytes.length} bytes)`);
      assert.ok(bytes.length < 4 * 1024 * 1024, `${core} holds no memory (${bytes.length} bytes)`);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('the daemon that hands out credentials keeps its memory out of core dumps, and a child of run gets its filter back', async () => {
    assert.equal((await runCli(['daemon', 'start'], { env: h.env })).code, 0);
    const issued = await new Promise<string>((resolve, reject) => {
      http.get({ socketPath: join(h.home, 'daemon.sock'), path: '/v1/credentials/openai' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal((JSON.parse(issued) as { credential: string }).credential, KEY, 'the daemon holds the key');
    const { json } = await runCliJson<{ pid: number }>(['daemon', 'status'], { env: h.env });
    assert.equal(readFileSync(`/proc/${json.pid}/coredump_filter`, 'utf8').trim(), '00000000');
    // The command run runs holds none of our secrets; its own dumps stay as its parent shell had them.
    const mine = readFileSync('/proc/self/coredump_filter', 'utf8').trim();
    const child = await runCli(['run', '--', 'cat', '/proc/self/coredump_filter'], { env: h.env });
    assert.equal(child.stdout.trim(), mine, child.stderr);
  });
});

describe('test-only switches', () => {
  const fx = proxyFixture([[acme, ACME_KEY]]);

  it('AUTHSOME_PROXY_CONNECT_TO without AUTHSOME_TESTING=1 redirects nothing: the credential never reaches its address', async () => {
    fx.upstream.reset();
    const result = await fx.h.run(['curl', '-sSf', '--max-time', '10', 'https://api.example.test/echo/redirected'], { env: { AUTHSOME_TESTING: undefined } });
    assert.notEqual(result.code, 0, 'api.example.test is resolved by DNS, where it does not exist: the proxy answers 502');
    assert.deepEqual(fx.upstream.received('/echo/redirected'), [], 'nothing arrived at the address the variable named');
    assert.match(result.stderr, /Warning: AUTHSOME_PROXY_CONNECT_TO is a test-only switch and is ignored/);
    // With the tests' flag, the same run reaches it (the switch still serves the test suite).
    const honoured = await fx.h.run(['curl', '-sS', '--max-time', '10', 'https://api.example.test/echo/honoured']);
    assert.equal(honoured.code, 0, honoured.stderr);
    assert.equal(fx.upstream.received('/echo/honoured')[0]!.headers['x-api-key'], ACME_KEY);
    assert.equal(existsSync(join(fx.h.home, 'proxy')), true);
  });
});
