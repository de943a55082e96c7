// `authsome run -- cmd`: real clients (curl, Python requests and urllib, Node fetch and https.get,
// git) started as the run's child reach a routed host with the injected credential; an unrouted
// host is a blind tunnel (the client sees the upstream's own certificate) and a NO_PROXY host is
// reached directly; a wrong proxy secret gets 407; server-sent events stream, a WebSocket upgrade
// passes through and a refused one arrives whole; exit codes, signals and stdin pass through, and
// run ends with its child; the audit entry has counts, never values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UPSTREAM_CA_NAME } from '../support/https-upstream.ts';
import { ACME_KEY, GIT_KEY, acme, assertNoSecretIn, gitty, headerValues, lastJson, proxyFixture } from './harness.ts';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-requests
const fx = proxyFixture([[acme, ACME_KEY], [gitty, GIT_KEY]]);

/** The single request that arrived at `path`, with exactly one X-Api-Key: the real key. */
function assertInjected(path: string): void {
  const seen = fx.upstream.received(path);
  assert.equal(seen.length, 1, `one request reached ${path}: ${JSON.stringify(fx.upstream.requests.map((r) => r.path))}`);
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
      const result = await fx.h.run(client.command(url(client.name)));
      assert.equal(result.code, 0, result.stderr);
      // What the child read back is the upstream's echo: the credential arrived there, and the
      // child reads only the placeholder in its place (test/security/proxy-echo.test.ts).
      const echo = lastJson(result);
      assert.equal(echo.path, `/echo/${client.name}`);
      assert.equal(echo.headers['x-api-key'], 'authsome-proxy-managed');
      assertInjected(`/echo/${client.name}`);
    });
  }

  it('several requests on one kept-alive tunnel (a requests.Session) each get the credential', async () => {
    const script = 'import requests,sys\ns = requests.Session()\nfor i in range(3): print(s.get(sys.argv[1] + str(i), timeout=20).status_code)';
    const result = await fx.h.run([PYTHON, '-c', script, 'https://api.example.test/echo/session-']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['200', '200', '200']);
    const seen = fx.upstream.received('/echo/session-');
    assert.deepEqual(seen.map((r) => headerValues(r.rawHeaders, 'x-api-key')), [[ACME_KEY], [ACME_KEY], [ACME_KEY]]);
    const entry = await fx.h.lastRun();
    assert.deepEqual(entry.hosts['api.example.test'], { requests: 3, statuses: { 200: 3 }, intercepted: true });
  });

  it('git ls-remote over HTTPS (smart-HTTP info/refs) gets the Basic credential', async () => {
    const result = await fx.h.run(['git', 'ls-remote', 'https://git.example.test/repo.git']);
    assert.equal(result.code, 0, result.stderr);
    const seen = fx.upstream.received('/repo.git/info/refs');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.query.service, 'git-upload-pack');
    assert.match(String(seen[0]!.headers['user-agent']), /^git\//);
    assert.deepEqual(headerValues(seen[0]!.rawHeaders, 'authorization'), [`Basic ${Buffer.from(`x-access-token:${GIT_KEY}`).toString('base64')}`]);
  });
});

describe('what the proxy does not touch', () => {
  it('an unrouted host is a blind tunnel: no credential, and the client sees the upstream\'s own certificate', async () => {
    // --cacert holds only the upstream's test CA: had the proxy decrypted, curl would not trust its leaf.
    const result = await fx.h.run(['curl', '-sS', '--max-time', '20', '--cacert', fx.upstream.caFile, '-w', '\nissuer=%{certs}', 'https://other.example.test/echo/tunnel']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Issuer: ?CN ?= ?${UPSTREAM_CA_NAME}`));
    assert.doesNotMatch(result.stdout, /authsome run \d+ CA/);
    const seen = fx.upstream.received('/echo/tunnel');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers['x-api-key'], undefined);
    assert.equal(seen[0]!.headers.authorization, undefined);
    assert.equal(seen[0]!.sni, 'other.example.test', 'the client\'s own TLS reached the upstream');
    const entry = await fx.h.lastRun();
    assert.equal(entry.tunnels, 1);
    assert.equal(entry.hosts['other.example.test']?.intercepted, false);
  });

  it('NO_PROXY hosts (loopback) are reached directly by every client, not through the proxy', async () => {
    const base = `https://127.0.0.1:${fx.upstream.port}/echo/direct-`;
    const q = (s: string) => `'${s}'`;
    const result = await fx.h.run(['sh', '-c', [
      `curl -sS --max-time 20 ${base}curl`,
      `${PYTHON} -c ${q('import requests,sys; print(requests.get(sys.argv[1], timeout=20).status_code)')} ${base}requests`,
      `${PYTHON} -c ${q('import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=20).status)')} ${base}urllib`,
      `${process.execPath} -e ${q('fetch(process.argv[1]).then((r) => console.log(r.status))')} ${base}fetch`,
      `${process.execPath} -e ${q('require("node:https").get(process.argv[1], (r) => { r.resume(); console.log(r.statusCode); })')} ${base}https`,
    ].join(' && ')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(fx.upstream.requests.map((r) => r.path), ['curl', 'requests', 'urllib', 'fetch', 'https'].map((c) => `/echo/direct-${c}`));
    const entry = await fx.h.lastRun();
    assert.deepEqual(entry.hosts, {}, 'no request went through the proxy');
    assert.equal(entry.tunnels, 0);
  });

  it('a wrong proxy secret gets 407 and nothing reaches the upstream', async () => {
    // The child swaps the password in the proxy URL it was given, then asks through it.
    const script = 'url=$(printf %s "$HTTPS_PROXY" | sed "s/:[^:@]*@/:wrong-secret@/"); '
      + 'curl -sS --max-time 20 --proxy "$url" -o /dev/null -w "connect=%{http_connect}\\n" https://api.example.test/echo/407; echo "curl=$?"';
    const result = await fx.h.run(['sh', '-c', script]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /connect=407/);
    assert.match(result.stdout, /curl=56/, 'curl reports the refused CONNECT');
    // And a plain-HTTP request through the proxy without any secret.
    const plain = await fx.h.run(['sh', '-c', 'url=$(printf %s "$HTTP_PROXY" | sed "s|//[^@]*@|//|"); curl -sS --max-time 20 --proxy "$url" -o /dev/null -w "status=%{http_code}\\n" http://api.example.test/echo/407']);
    assert.match(plain.stdout, /status=407/);
    assert.equal(fx.upstream.requests.length, 0);
  });
});

describe('streams and upgrades', () => {
  it('server-sent events arrive as they are sent (curl -N)', async () => {
    const result = await fx.h.run(['curl', '-sS', '-N', '--max-time', '20', 'https://api.example.test/sse']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual([...result.stdout.matchAll(/^data: (.*)$/gm)].map((m) => m[1]), ['event 1', 'event 2', 'event 3']);
    assert.equal(fx.upstream.received('/sse')[0]!.headers['x-api-key'], ACME_KEY);
  });

  it('server-sent events are not buffered: each reaches the child when the upstream sends it', async () => {
    // A Node child timestamps each event; 300 ms between events upstream must show in the child.
    const script = `(async () => {
      const t0 = Date.now();
      const res = await fetch(process.argv[1]);
      const decoder = new TextDecoder();
      for await (const chunk of res.body) for (const m of decoder.decode(chunk).matchAll(/data: (event \\d+)/g)) console.log(Date.now() - t0, m[1]);
    })()`;
    const result = await fx.h.run([process.execPath, '-e', script, 'https://api.example.test/sse?n=3&gap=300']);
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout.trim().split('\n').map((line) => line.split(' '));
    assert.deepEqual(events.map((e) => e.slice(1).join(' ')), ['event 1', 'event 2', 'event 3']);
    const spread = Number(events[2]![0]) - Number(events[0]![0]);
    assert.ok(spread >= 450, `events 1 and 3 arrived ${spread} ms apart: the proxy held them back`);
  });

  it('a WebSocket upgrade passes through, with the credential on the upgrade request', async () => {
    // The child speaks RFC 6455 by hand over the preload's proxy agent: one masked text frame, then close.
    const script = `
      const https = require('node:https');
      const crypto = require('node:crypto');
      setTimeout(() => { console.log('timeout'); process.exit(2); }, 15000).unref();
      const key = crypto.randomBytes(16).toString('base64');
      const req = https.request(process.argv[1], { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' } });
      req.on('response', (res) => { console.log('no upgrade: ' + res.statusCode); process.exit(1); });
      req.on('upgrade', (res, socket, head) => {
        const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        console.log('status=' + res.statusCode + ' accept=' + (res.headers['sec-websocket-accept'] === accept));
        const masked = (opcode, payload) => {
          const mask = crypto.randomBytes(4);
          return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]);
        };
        let buffer = head;
        const onData = (data) => {
          buffer = Buffer.concat([buffer, data]);
          if (buffer.length < 2 || buffer.length < 2 + (buffer[1] & 0x7f)) return;
          console.log('echo=' + buffer.subarray(2, 2 + (buffer[1] & 0x7f)).toString());
          socket.off('data', onData);
          socket.end(masked(0x8, Buffer.alloc(0)));
        };
        socket.on('data', onData);
        socket.write(masked(0x1, Buffer.from(process.argv[2])));
        onData(Buffer.alloc(0));
      });
      req.end();`;
    const result = await fx.h.run([process.execPath, '-e', script, 'https://api.example.test/ws', 'hello through the proxy']);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^status=101 accept=true$/m);
    assert.match(result.stdout, /^echo=hello through the proxy$/m);
    assert.deepEqual(fx.upstream.wsMessages, ['hello through the proxy']);
    const seen = fx.upstream.received('/ws');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.upgrade, true);
    assert.deepEqual(headerValues(seen[0]!.rawHeaders, 'x-api-key'), [ACME_KEY]);
    const entry = await fx.h.lastRun();
    assert.deepEqual(entry.hosts['api.example.test'].statuses, { 101: 1 });
  });
});

describe('a refused upgrade', () => {
  it('reaches the child with its status and body', async () => {
    const script = `
      const req = require('node:https').request(process.argv[1], { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' } });
      req.on('upgrade', () => { console.log('upgraded?'); process.exit(1); });
      req.on('response', (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => console.log(res.statusCode, b)); res.on('error', (e) => console.log(res.statusCode, 'body lost:', e.code)); });
      req.on('error', (e) => console.log('error', e.code));
      req.end();`;
    const result = await fx.h.run([process.execPath, '-e', script, 'https://api.example.test/ws-refused']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), '403 {"error":"upgrade refused"}');
  });
});

describe('the child process', () => {
  it('its exit code is run\'s exit code', async () => {
    assert.equal((await fx.h.run(['sh', '-c', 'exit 7'])).code, 7);
    assert.equal((await fx.h.run(['true'])).code, 0);
    const entry = await fx.h.lastRun();
    assert.equal(entry.command, 'true');
    assert.equal(entry.exit_code, 0);
  });

  it('killed by a signal: 128 + n', async () => {
    const result = await fx.h.run(['sh', '-c', 'kill -TERM $$']);
    assert.equal(result.code, 143);
    const entry = await fx.h.lastRun();
    assert.equal(entry.exit_code, 143);
    assert.equal(entry.status, 'failure');
  });

  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]] as const) {
    it(`${signal} to authsome is forwarded to the child, and run exits ${code}`, async () => {
      // exec: the signal's receiver is the sleeping process itself (a shell would leave its sleep behind).
      const running = fx.h.start(['sh', '-c', 'echo child-started >&2; exec sleep 30']);
      await running.waitForStderr(/child-started/);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the child is past starting (see the next test)
      const started = Date.now();
      running.kill(signal);
      const result = await running.done;
      assert.equal(result.code, code, result.stderr);
      assert.ok(Date.now() - started < 5000, 'the child ended at once, not after its sleep');
      assert.equal((await fx.h.lastRun()).exit_code, code);
    });
  }

  it('a signal that arrives the moment the child starts is forwarded too (10 tries)', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const running = fx.h.start(['sh', '-c', 'echo child-started >&2; exec sleep 5']);
      await running.waitForStderr(/child-started/);
      running.kill('SIGTERM');
      codes.push((await running.done).code);
    }
    // -1: the signal killed authsome itself (no handler yet), leaving its child running.
    assert.deepEqual(codes, Array(10).fill(143));
  });

  // A background process of the child may still hold a connection through the proxy when the
  // child exits: run ends with the child all the same (the connection is cut).
  for (const [kind, host] of [['an intercepted', 'api.example.test'], ['a tunnelled', 'other.example.test']] as const) {
    it(`ends when the child does, though a background process holds ${kind} connection`, async () => {
      // The child waits for the stream's first event (not a fixed second: a loaded machine may be slower), then exits.
      const stream = `f=$(mktemp); curl -sS -N --max-time 20 'https://${host}/sse?n=80&gap=250' >"$f" 2>/dev/null </dev/null &`;
      const waitForFirstEvent = 'i=0; until [ -s "$f" ] || [ $i -ge 300 ]; do sleep 0.05; i=$((i+1)); done; rm -f "$f"';
      const running = fx.h.start(['sh', '-c', `${stream} ${waitForFirstEvent}; echo child-done`]);
      const started = Date.now();
      const ended = await Promise.race([running.done, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000).unref())]); // the stream lasts 20 s
      if (!ended) {
        running.kill('SIGKILL');
        await running.done;
      }
      assert.ok(ended, `run was still going ${Date.now() - started} ms after it started; its child ended once the stream had begun`);
      assert.equal(ended.code, 0, ended.stderr);
      assert.equal(ended.stdout, 'child-done\n');
      assert.equal(fx.upstream.received('/sse').length, 1, 'the background stream had started');
    });
  }

  it('stdin and stdout pass through', async () => {
    const result = await fx.h.run(['cat'], { input: 'abc' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'abc');
  });

  it('a command that does not exist: a usage error naming it', async () => {
    const result = await fx.h.run(['no-such-command-xyz']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /command not found: no-such-command-xyz/);
  });
});

describe('the audit entry', () => {
  it('names the command, the exit code, the routes and counts per host, never a credential', async () => {
    const result = await fx.h.run(['sh', '-c', 'curl -sS https://api.example.test/echo/a >/dev/null && curl -sS https://api.example.test/nowhere >/dev/null && exit 3']);
    assert.equal(result.code, 3, result.stderr);
    const entry = await fx.h.lastRun();
    assert.equal(entry.event, 'run');
    assert.equal(entry.command, 'sh');
    assert.equal(entry.args, 2);
    assert.equal(entry.exit_code, 3);
    assert.equal(entry.status, 'failure');
    assert.equal(typeof entry.pid, 'number');
    assert.equal(typeof entry.duration_ms, 'number');
    assert.deepEqual([...entry.routes].sort(), ['acme (default) → api.example.test', 'gitty (default) → git.example.test']);
    assert.deepEqual(entry.hosts['api.example.test'], { requests: 2, statuses: { 200: 1, 404: 1 }, intercepted: true });
    assert.deepEqual(entry.rules_used, { 'acme (default) → api.example.test': 2 });
    assertNoSecretIn(JSON.stringify(entry), [ACME_KEY, GIT_KEY], 'the run audit entry');
  });
});
