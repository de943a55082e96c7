// `authsome run -- cmd`: real clients (curl, Python requests and urllib, Node fetch and https.get,
// git) started as the run's child reach a routed host with the injected credential; an unrouted
// host is a blind tunnel (the client sees the upstream's own certificate); a wrong proxy secret
// gets 407; exit codes, signals and stdin pass through; the audit entry has counts, never values.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startHttpsUpstream, UPSTREAM_CA_NAME, type HttpsUpstream } from '../support/https-upstream.ts';
import { ACME_KEY, GIT_KEY, acme, assertNoSecretIn, gitty, headerValues, lastJson, proxyHome, type ProxyHome } from './harness.ts';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-requests
let upstream: HttpsUpstream;
let h: ProxyHome;

before(async () => {
  upstream = await startHttpsUpstream();
  h = await proxyHome(upstream);
  await h.register(acme);
  await h.register(gitty);
  await h.login('acme', ACME_KEY);
  await h.login('gitty', GIT_KEY);
});
after(async () => {
  await h?.cleanup();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

/** The single request that arrived at `path`, with exactly one X-Api-Key: the real key. */
function assertInjected(path: string): void {
  const seen = upstream.received(path);
  assert.equal(seen.length, 1, `one request reached ${path}: ${JSON.stringify(upstream.requests.map((r) => r.path))}`);
  assert.deepEqual(headerValues(seen[0]!.rawHeaders, 'x-api-key'), [ACME_KEY]);
  assert.equal(seen[0]!.sni, 'api.example.test', 'the proxy named the upstream by its host (SNI)');
  assert.equal(seen[0]!.headers.host, 'api.example.test');
  assert.equal(seen[0]!.headers['proxy-authorization'], undefined, 'the proxy secret stays with the proxy');
}

describe('clients arrive with the injected credential', () => {
  const url = (client: string) => `https://api.example.test/echo/${client}`;
  const clients: Array<{ name: string; command: (u: string) => string[] }> = [
    { name: 'curl', command: (u) => ['curl', '-sS', '--max-time', '20', u] },
    { name: 'python-requests', command: (u) => [PYTHON, '-c', 'import requests,sys; r=requests.get(sys.argv[1], timeout=20); print(r.text)', u] },
    { name: 'python-urllib', command: (u) => [PYTHON, '-c', 'import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())', u] },
    { name: 'node-fetch', command: (u) => [process.execPath, '-e', 'fetch(process.argv[1]).then((r) => r.text()).then((t) => console.log(t))', u] },
    {
      name: 'node-https-get',
      command: (u) => [process.execPath, '-e', "require('node:https').get(process.argv[1], (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b)); })", u],
    },
  ];
  for (const client of clients) {
    it(client.name, async () => {
      const result = await h.run(client.command(url(client.name)));
      assert.equal(result.code, 0, result.stderr);
      // What the child read back is the upstream's echo: the credential it never held arrived.
      const echo = lastJson(result);
      assert.equal(echo.path, `/echo/${client.name}`);
      assert.equal(echo.headers['x-api-key'], ACME_KEY);
      assertInjected(`/echo/${client.name}`);
    });
  }

  it('git ls-remote over HTTPS (smart-HTTP info/refs) gets the Basic credential', async () => {
    const result = await h.run(['git', 'ls-remote', 'https://git.example.test/repo.git']);
    assert.equal(result.code, 0, result.stderr);
    const seen = upstream.received('/repo.git/info/refs');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.query.service, 'git-upload-pack');
    assert.match(String(seen[0]!.headers['user-agent']), /^git\//);
    assert.deepEqual(headerValues(seen[0]!.rawHeaders, 'authorization'), [`Basic ${Buffer.from(`x-access-token:${GIT_KEY}`).toString('base64')}`]);
  });
});

describe('what the proxy does not touch', () => {
  it('an unrouted host is a blind tunnel: no credential, and the client sees the upstream\'s own certificate', async () => {
    // --cacert holds only the upstream's test CA: had the proxy decrypted, curl would not trust its leaf.
    const result = await h.run(['curl', '-sS', '--max-time', '20', '--cacert', upstream.caFile, '-w', '\nissuer=%{certs}', 'https://other.example.test/echo/tunnel']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Issuer: ?CN ?= ?${UPSTREAM_CA_NAME}`));
    assert.doesNotMatch(result.stdout, /authsome local proxy CA/);
    const seen = upstream.received('/echo/tunnel');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers['x-api-key'], undefined);
    assert.equal(seen[0]!.headers.authorization, undefined);
    assert.equal(seen[0]!.sni, 'other.example.test', 'the client\'s own TLS reached the upstream');
    const entry = await h.lastRun();
    assert.equal(entry.tunnels, 1);
    assert.equal(entry.hosts['other.example.test']?.intercepted, false);
  });

  it('a wrong proxy secret gets 407 and nothing reaches the upstream', async () => {
    // The child swaps the password in the proxy URL it was given, then asks through it.
    const script = 'url=$(printf %s "$HTTPS_PROXY" | sed "s/:[^:@]*@/:wrong-secret@/"); '
      + 'curl -sS --max-time 20 --proxy "$url" -o /dev/null -w "connect=%{http_connect}\\n" https://api.example.test/echo/407; echo "curl=$?"';
    const result = await h.run(['sh', '-c', script]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /connect=407/);
    assert.match(result.stdout, /curl=56/, 'curl reports the refused CONNECT');
    // And a plain-HTTP request through the proxy without any secret.
    const plain = await h.run(['sh', '-c', 'url=$(printf %s "$HTTP_PROXY" | sed "s|//[^@]*@|//|"); curl -sS --max-time 20 --proxy "$url" -o /dev/null -w "status=%{http_code}\\n" http://api.example.test/echo/407']);
    assert.match(plain.stdout, /status=407/);
    assert.equal(upstream.requests.length, 0);
  });
});

describe('the child process', () => {
  it('its exit code is run\'s exit code', async () => {
    assert.equal((await h.run(['sh', '-c', 'exit 7'])).code, 7);
    assert.equal((await h.run(['true'])).code, 0);
    const entry = await h.lastRun();
    assert.equal(entry.command, 'true');
    assert.equal(entry.exit_code, 0);
  });

  it('killed by a signal: 128 + n', async () => {
    const result = await h.run(['sh', '-c', 'kill -TERM $$']);
    assert.equal(result.code, 143);
    const entry = await h.lastRun();
    assert.equal(entry.exit_code, 143);
    assert.equal(entry.status, 'failure');
  });

  it('SIGTERM to authsome is forwarded to the child, and run exits 143', async () => {
    // exec: the signal's receiver is the sleeping process itself (a shell would leave its sleep behind).
    const running = h.start(['sh', '-c', 'echo child-started >&2; exec sleep 30']);
    await running.waitForStderr(/child-started/);
    const started = Date.now();
    running.kill('SIGTERM');
    const result = await running.done;
    assert.equal(result.code, 143, result.stderr);
    assert.ok(Date.now() - started < 5000, 'the child ended at once, not after its sleep');
    assert.equal((await h.lastRun()).exit_code, 143);
  });

  it('stdin and stdout pass through', async () => {
    const result = await h.run(['cat'], { input: 'abc' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'abc');
  });

  it('a command that does not exist: a usage error naming it', async () => {
    const result = await h.run(['no-such-command-xyz']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /command not found: no-such-command-xyz/);
  });
});

describe('the audit entry', () => {
  it('names the command, the exit code, the routes and counts per host, never a credential', async () => {
    const result = await h.run(['sh', '-c', 'curl -sS https://api.example.test/echo/a >/dev/null && curl -sS https://api.example.test/nowhere >/dev/null && exit 3']);
    assert.equal(result.code, 3, result.stderr);
    const entry = await h.lastRun();
    assert.equal(entry.event, 'run');
    assert.equal(entry.command, 'sh');
    assert.equal(entry.args, 2);
    assert.equal(entry.exit_code, 3);
    assert.equal(typeof entry.pid, 'number');
    assert.equal(typeof entry.duration_ms, 'number');
    assert.deepEqual([...entry.routes].sort(), ['acme (default) → api.example.test', 'gitty (default) → git.example.test']);
    assert.deepEqual(entry.hosts['api.example.test'], { requests: 2, statuses: { 200: 1, 404: 1 }, intercepted: true });
    assert.deepEqual(entry.rules_used, { 'acme (default) → api.example.test': 2 });
    assertNoSecretIn(JSON.stringify(entry), [ACME_KEY, GIT_KEY], 'the run audit entry');
  });
});
