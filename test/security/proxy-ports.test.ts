// Issue 14, item 6: a route is bound to its origin's port — 443, or the port in host_url. A child
// that CONNECTs to a routed host on another port (a debug server, someone else's service on the
// same machine) gets a blind tunnel: nothing decrypted, no credential, and --verbose says why.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startHttpsUpstream, UPSTREAM_CA_NAME, type HttpsUpstream } from '../support/https-upstream.ts';
import { ACME_KEY, BETA_KEY, acme, assertNoSecretIn, beta, proxyHome, type ProxyHome } from '../proxy/harness.ts';

let upstream: HttpsUpstream;
let h: ProxyHome;
/** The test hosts' :443 and :80, and :8443 of the two routed hosts, all at the upstream. */
let connectTo: string;

before(async () => {
  upstream = await startHttpsUpstream();
  h = await proxyHome(upstream);
  await h.register(acme); // api.example.test: port 443
  await h.register({ ...beta, host_url: 'https://third.example.test:8443' }); // bound to 8443
  await h.login('acme', ACME_KEY);
  await h.login('beta', BETA_KEY);
  connectTo = [upstream.connectTo(), `api.example.test:8443:127.0.0.1:${upstream.port}`, `third.example.test:8443:127.0.0.1:${upstream.port}`].join(',');
});
after(async () => {
  await h?.cleanup();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

/** curl printing the issuer of the certificate it was shown, so a blind tunnel shows itself. */
const curl = (url: string) => `curl -sS --max-time 20 -o /dev/null -w '%{http_code} %{certs}\\n' ${url}`;

describe('a routed host on another port', () => {
  it('CONNECT api.example.test:8443 is a blind tunnel: the key stays home, the child sees the server\'s own certificate', async () => {
    const result = await h.run(['sh', '-c', curl('https://api.example.test:8443/echo/other-port')], { verbose: true, env: { AUTHSOME_PROXY_CONNECT_TO: connectTo } });
    assert.equal(result.code, 0, result.stderr);
    const seen = upstream.received('/echo/other-port');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers['x-api-key'], undefined, 'the key went to port 8443 of its host');
    assert.equal(seen[0]!.sni, 'api.example.test', 'the child\'s own TLS reached the upstream');
    assert.match(result.stdout, new RegExp(`^200 [\\s\\S]*Issuer: ?CN ?= ?${UPSTREAM_CA_NAME}`));
    assert.doesNotMatch(result.stdout, /authsome run \d+ CA/);
    assert.match(result.stderr, /proxy: CONNECT api\.example\.test:8443 is a blind tunnel: the routes for api\.example\.test are bound to port 443, so no credential goes to port 8443/);
    assertNoSecretIn(result.stdout + result.stderr, [ACME_KEY, BETA_KEY], 'the run\'s output');
    const entry = await h.lastRun();
    assert.equal(entry.tunnels, 1);
  });

  it('a host_url with a port: injected there, and port 443 of the same host is a blind tunnel', async () => {
    const result = await h.run(['sh', '-c', [curl('https://third.example.test:8443/echo/bound'), curl('https://third.example.test/echo/unbound')].join(' && ')], { env: { AUTHSOME_PROXY_CONNECT_TO: connectTo } });
    assert.equal(result.code, 0, result.stderr);
    const bound = upstream.received('/echo/bound');
    assert.equal(bound.length, 1);
    assert.equal(bound[0]!.headers.authorization, `Bearer ${BETA_KEY}`);
    assert.equal(bound[0]!.headers.host, 'third.example.test:8443');
    const unbound = upstream.received('/echo/unbound');
    assert.equal(unbound.length, 1);
    assert.equal(unbound[0]!.headers.authorization, undefined, 'the key bound to :8443 went to :443');
    const [first, second] = result.stdout.trim().split(/\n(?=\d{3} )/);
    assert.match(first!, /authsome run \d+ CA/, ':8443 was decrypted (its route)');
    assert.doesNotMatch(second!, /authsome run \d+ CA/, ':443 was not');
  });
});
