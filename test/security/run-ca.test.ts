// Each `run` has its own CA, name-constrained to the run's routed hosts (issue 14, "beyond the
// peers"). As the attack: a child asks the proxy, through a CONNECT to a routed host, for a leaf
// naming another host (SNI) — it gets none; a proxy that minted one anyway (the test-only
// AUTHSOME_PROXY_TEST_ANY_SNI) is caught by the child's own TLS library — curl, Python requests,
// Node fetch — as a name-constraint violation; the CA's key is on no file in the home (and the old
// install-wide ca.key is removed); a regex route with no literal domain is not decrypted at all.
// Then the CA alone, in process: curl, requests, Node and git (GnuTLS) reject every leaf outside
// its names — another domain, a look-alike suffix, an address, a leaf with only a CN.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LeafCache, createRunCA, CA_VALIDITY_MS } from '../../src/proxy/certificates.ts';
import { runCli } from '../support/cli.ts';
import { ACME_KEY, acme, lastJson, proxyFixture, proxyHome } from '../proxy/harness.ts';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-requests
const UNDICI = createRequire(import.meta.url).resolve('undici');
const ROUTED = 'api.example.test';
const OTHER = 'other.example.test';
const fx = proxyFixture([[acme, ACME_KEY]]);

/**
 * Each client opens its tunnel with CONNECT api.example.test:443 (a routed host) and asks, in its
 * TLS handshake, for `name`: SNI and the name it verifies the certificate against.
 */
const asking: Array<{ client: string; command: (name: string, path: string) => string[] }> = [
  { client: 'curl', command: (name, path) => ['curl', '-sS', '--max-time', '20', '--connect-to', `${name}:443:${ROUTED}:443`, `https://${name}${path}`] },
  {
    client: 'python requests',
    command: (name, path) => [PYTHON, '-c', `
import requests, sys
from requests.adapters import HTTPAdapter
class Named(HTTPAdapter):
    def proxy_manager_for(self, proxy, **kw):
        return super().proxy_manager_for(proxy, server_hostname=sys.argv[1], **kw)
s = requests.Session()
s.mount('https://', Named())
try:
    print(s.get('https://${ROUTED}' + sys.argv[2], timeout=20).text)
except Exception as e:
    print('ERROR', e); sys.exit(1)
`, name, path],
  },
  {
    client: 'node fetch',
    command: (name, path) => [process.execPath, '-e', `
const { ProxyAgent } = require(${JSON.stringify(UNDICI)});
const dispatcher = new ProxyAgent({ uri: process.env.HTTPS_PROXY, requestTls: { servername: process.argv[1] } });
fetch('https://${ROUTED}' + process.argv[2], { dispatcher }).then((r) => r.text()).then(console.log, (e) => { console.log('ERROR', e.cause?.message ?? e.message); process.exit(1); });
`, name, path],
  },
];

describe('a leaf for a host the run does not route', () => {
  for (const { client, command } of asking) {
    it(`${client}: SNI naming an unrouted host through a routed tunnel gets no certificate from the proxy`, async () => {
      const result = await fx.h.run(command(OTHER, '/echo/sni'), { verbose: true });
      assert.notEqual(result.code, 0, `the handshake for ${OTHER} succeeded: ${result.stdout}`);
      assert.equal(fx.upstream.received('/echo/sni').length, 0, 'the request went on to the routed host');
      assert.match(result.stderr, /the run's CA vouches only for api\.example\.test, until /, '--verbose names the CA\'s scope');
      // The same client, naming the routed host, goes through: the refusal is about the name.
      const routed = await fx.h.run(command(ROUTED, '/echo/sni-routed'));
      assert.equal(routed.code, 0, routed.stdout + routed.stderr);
      // The child sees the placeholder (the echo is scrubbed); the upstream got the key.
      assert.equal(lastJson(routed).headers['x-api-key'], 'authsome-proxy-managed');
      assert.equal(fx.upstream.received('/echo/sni-routed').at(-1)?.headers['x-api-key'], ACME_KEY);
    });

    it(`${client}: a leaf for it signed by the run's CA is rejected by the child (a name-constraint violation)`, async () => {
      // The proxy gone wrong: it mints for any SNI name, from the run's own CA.
      const result = await fx.h.run(command(OTHER, '/echo/minted'), { env: { AUTHSOME_PROXY_TEST_ANY_SNI: '1' } });
      assert.notEqual(result.code, 0, `the child accepted a leaf for ${OTHER}: ${result.stdout}`);
      assert.match(result.stdout + result.stderr, /permitted subtree violation/, 'rejected for the CA\'s name constraints');
      assert.equal(fx.upstream.received('/echo/minted').length, 0);
    });
  }

  it('the test-only switch is ignored without AUTHSOME_TESTING=1', async () => {
    const result = await fx.h.run(['true'], { env: { AUTHSOME_PROXY_TEST_ANY_SNI: '1', AUTHSOME_TESTING: undefined, AUTHSOME_PROXY_CONNECT_TO: undefined } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /AUTHSOME_PROXY_TEST_ANY_SNI is a test-only switch and is ignored/);
  });
});

/** The last certificate in the child's bundle: the run's CA (run appends it after the roots). */
const PRINT_RUN_CA = `const b = require('node:fs').readFileSync(process.env.SSL_CERT_FILE, 'utf8'); console.log('-----BEGIN CERTIFICATE-----\\n' + b.split('-----BEGIN CERTIFICATE-----').pop().trim());`;

function opensslText(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text', '-dates'], { input: pem, encoding: 'utf8' });
}

/** Files under `dir` holding a PEM private key. */
function privateKeysUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (statSync(path).isFile() && readFileSync(path).includes('PRIVATE KEY')) found.push(entry);
  }
  return found;
}

describe('the run\'s CA', () => {
  it('is the run\'s own, constrained to its routed hosts, short-lived; its key is on no file in the home; the old install-wide CA is removed', async () => {
    // What earlier versions kept: an install-wide CA, its key on disk, valid 825 days, no constraints.
    mkdirSync(join(fx.h.home, 'proxy'), { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '825', '-subj', '/CN=authsome local proxy CA',
      '-keyout', join(fx.h.home, 'proxy', 'ca.key'), '-out', join(fx.h.home, 'proxy', 'ca.pem')], { stdio: 'ignore' });
    // The child looks at the home while the run is live: no file there may hold a private key.
    const scan = `
      const fs = require('node:fs'), path = require('node:path');
      const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
      console.log('KEYS ' + JSON.stringify(walk(process.argv[1]).filter((f) => fs.readFileSync(f).includes('PRIVATE KEY'))));
      ${PRINT_RUN_CA}`;
    const first = await fx.h.run([process.execPath, '-e', scan, fx.h.home]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.split('\n').find((l) => l.startsWith('KEYS ')), 'KEYS []', 'a private key lies in the home while the run is live');
    assert.deepEqual(privateKeysUnder(fx.h.home), [], 'a private key lies in the home after the run');
    assert.match(first.stderr, /removed the install-wide proxy CA/);
    const runCA = first.stdout.slice(first.stdout.indexOf('-----BEGIN CERTIFICATE-----'));
    const text = opensslText(runCA);
    assert.doesNotMatch(text, /authsome local proxy CA/, 'the child trusts the old install-wide CA');
    assert.match(text, /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:api\.example\.test\s+Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0\s/);
    const notBefore = Date.parse(/notBefore=(.*)/.exec(text)![1]!);
    const notAfter = Date.parse(/notAfter=(.*)/.exec(text)![1]!);
    assert.ok(notAfter - notBefore <= CA_VALIDITY_MS + 3_600_000, `valid ${(notAfter - notBefore) / 86_400_000} days`);
    // A second run: another CA.
    const second = await fx.h.run([process.execPath, '-e', PRINT_RUN_CA]);
    assert.equal(second.code, 0, second.stderr);
    assert.notEqual(second.stdout.trim(), runCA.trim(), 'two runs share a CA');
    assert.doesNotMatch(second.stderr, /removed the install-wide/, 'said once, when there was one');
  });

  it('a regex route with no literal domain is not decrypted: run says so, and the request goes through untouched', async () => {
    const wild = await proxyHome(fx.upstream);
    try {
      await wild.register({ ...acme, name: 'wild', host_url: 'regex:api\\.example\\.[a-z]+' });
      await wild.register({ ...acme, name: 'suffixed', host_url: 'regex:[a-z0-9-]+\\.example\\.test', api_key: { header_name: 'X-Suffixed-Key', env_var: 'SUFFIXED_KEY' } });
      await wild.login('wild', ACME_KEY);
      await wild.login('suffixed', 'suffixed-secret-key-777');
      // --cacert holds only the upstream's CA: the child sees the upstream's own certificate or fails.
      const result = await wild.run(['sh', '-c', `curl -sS --max-time 20 --cacert ${fx.upstream.caFile} https://api.example.test/echo/wild; echo; printenv ACME_KEY || echo no-placeholder`], { only: 'wild' });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /wild \(default\) is not routed to regex:api\\\.example\\\.\[a-z\]\+: it ends in no literal domain/);
      // authsome route makes the same decision: nothing is added.
      const explained = await runCli(['route', 'https://api.example.com/v1', '--json'], { env: wild.env });
      assert.equal(explained.code, 3, explained.stdout + explained.stderr);
      assert.equal(fx.upstream.received('/echo/wild')[0]?.headers['x-api-key'], undefined, 'the key was injected');
      assert.match(result.stdout, /no-placeholder/);
      // A pattern with a literal domain is routed, the CA limited to that domain.
      const routed = await wild.run(['sh', '-c', `curl -sS --max-time 20 https://third.example.test/echo/suffixed && ${process.execPath} -e "${PRINT_RUN_CA.replace(/"/g, '\\"')}"`], { only: 'suffixed' });
      assert.equal(routed.code, 0, routed.stderr);
      assert.equal(fx.upstream.received('/echo/suffixed')[0]?.headers['x-suffixed-key'], 'suffixed-secret-key-777');
      assert.match(opensslText(routed.stdout.slice(routed.stdout.indexOf('-----BEGIN'))), /Permitted:\s+DNS:example\.test\s+Excluded/);
    } finally {
      await wild.cleanup();
    }
  });
});

/** Runs a client with the bundle as its only trust; its exit code and last line. */
function client(command: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

describe('the run\'s CA, in process: every client enforces its name constraints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runca-'));
  const byName = join(dir, 'by-name.pem');
  const byAddress = join(dir, 'by-address.pem');
  const leaves = new Map<string, LeafCache>();
  before(async () => {
    // A run routing one host, and one routing one address (an IP route: no DNS name permitted).
    for (const [file, scope] of [[byName, { dns: ['routed.test'], ips: [] }], [byAddress, { dns: [], ips: ['127.0.0.1'] }]] as const) {
      const ca = await createRunCA({ dns: [...scope.dns], ips: [...scope.ips] });
      assert.equal(ca.privateKey.extractable, false, 'the CA key can be exported');
      writeFileSync(file, ca.certPem);
      leaves.set(file, new LeafCache(ca, { isRouted: () => true, anyName: true }));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<{ label: string; host: string; ok: boolean; bundle?: string }> = [
    { label: 'the routed host', host: 'routed.test', ok: true },
    { label: 'a name below it', host: 'a.routed.test', ok: true },
    { label: 'another domain', host: 'other.test', ok: false },
    { label: 'a look-alike ending in the same characters', host: 'evilrouted.test', ok: false },
    { label: 'an address (none permitted)', host: '127.0.0.1', ok: false },
    { label: 'the routed address', host: '127.0.0.1', ok: true, bundle: byAddress },
    { label: 'a name, beside a routed address', host: 'routed.test', ok: false, bundle: byAddress },
  ];
  for (const { label, host, ok, bundle = byName } of cases) {
    it(`${label} (${host}): ${ok ? 'trusted' : 'rejected'} by curl, Python requests, Node and git`, async () => {
      const leaf = await leaves.get(bundle)!.leafFor(host);
      const server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
        if (req.url?.includes('info/refs')) res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' }).end('001e# service=git-upload-pack\n00000000');
        else res.end('reached');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const url = `https://${host}:${port}/`;
      const env = { SSL_CERT_FILE: bundle, GIT_SSL_CAINFO: bundle, GIT_TERMINAL_PROMPT: '0' };
      try {
        const results = {
          curl: await client('curl', ['-sS', '--max-time', '20', '--cacert', bundle, '--resolve', `${host}:${port}:127.0.0.1`, url], env),
          'python requests': await client(PYTHON, ['-c', `
import requests, socket, sys
resolve = socket.getaddrinfo
socket.getaddrinfo = lambda h, *a, **k: resolve('127.0.0.1', *a, **k)
try:
    print(requests.get(sys.argv[1], verify=sys.argv[2], timeout=20).text)
except Exception as e:
    print('ERROR', e); sys.exit(1)
`, url, bundle], env),
          node: await client(process.execPath, ['-e', `
const tls = require('node:tls');
const s = tls.connect({ host: '127.0.0.1', port: ${port}, servername: ${JSON.stringify(host === '127.0.0.1' ? undefined : host)}, ca: require('node:fs').readFileSync(${JSON.stringify(bundle)}),
  checkServerIdentity: (_, cert) => tls.checkServerIdentity(${JSON.stringify(host)}, cert) }, () => { console.log('reached'); s.end(); });
s.on('error', (e) => { console.log('ERROR', e.message); process.exit(1); });`], env),
          git: await client('git', ['-c', `http.curloptResolve=${host}:${port}:127.0.0.1`, 'ls-remote', `${url}repo.git`], env),
        };
        for (const [name, r] of Object.entries(results)) {
          if (ok) assert.equal(r.code, 0, `${name} rejected ${host}: ${r.out}`);
          else assert.notEqual(r.code, 0, `${name} trusted a leaf for ${host}: ${r.out}`);
        }
        if (!ok) {
          // OpenSSL names the reason; GnuTLS (git) says only that verification failed.
          for (const name of ['curl', 'python requests', 'node'] as const) assert.match(results[name].out, /subtree violation/, `${name}: ${results[name].out}`);
          assert.match(results.git.out, /server certificate verification failed/);
        }
      } finally {
        server.close();
        server.closeAllConnections();
      }
    });
  }

  it('a routed host\'s leaf is minted; the proxy refuses any other name', async () => {
    const ca = await createRunCA({ dns: ['routed.test'], ips: [] });
    const strict = new LeafCache(ca, { isRouted: (host) => host === 'routed.test' || host === 'wide.other.test' });
    await strict.leafFor('routed.test');
    await assert.rejects(strict.leafFor('other.test'), /not a host this run routes/);
    // Routed, but outside the CA's names: no leaf either.
    await assert.rejects(strict.leafFor('wide.other.test'), /not a host this run routes/);
  });
});
