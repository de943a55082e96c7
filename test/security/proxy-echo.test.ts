// Issue 14, item 8: the child cannot read an injected credential back through an upstream that
// quotes the request — an httpbin-style echo, an error page, a redirect that repeats the query, a
// response header, a compressed or chunk-split body, a stream of server-sent events. It reads the
// placeholder `authsome-proxy-managed`; the upstream still receives the real value. Real curl and
// Node fetch through `authsome run`, against the local HTTPS upstream.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { ACME_KEY, GIT_KEY, acme, assertNoSecretIn, gitty, headerValues, lastJson, proxyHome, type ProxyHome } from '../proxy/harness.ts';

const QUERY_KEY = 'query-secret-key-24680';
const PLACEHOLDER = 'authsome-proxy-managed';
const BASIC = Buffer.from(`x-access-token:${GIT_KEY}`).toString('base64');
/** Every form in which a secret could reach the child. */
const SECRETS = [ACME_KEY, GIT_KEY, BASIC, QUERY_KEY];
let upstream: HttpsUpstream;
let h: ProxyHome;

const curl = (...args: string[]) => ['curl', '-sS', '--max-time', '20', ...args];
/** Reads a /reflect answer on stdin and prints it with its padding's length in place of the padding. */
const SUMMARY = `python3 -c 'import json,sys; d=json.load(sys.stdin); d["pad"]=len(d["pad"]); print(json.dumps(d))'`;

before(async () => {
  upstream = await startHttpsUpstream();
  h = await proxyHome(upstream);
  await h.register(acme); // X-Api-Key on api.example.test
  await h.register(gitty); // Basic on git.example.test
  await h.register({ schema_version: 1, name: 'qkey', auth_type: 'api_key', flow: 'api_key', host_url: 'third.example.test', api_key: { location: 'query', query_param: 'api_key', env_var: 'QKEY' } });
  await h.login('acme', ACME_KEY);
  await h.login('gitty', GIT_KEY);
  await h.login('qkey', QUERY_KEY);
});
after(async () => {
  await h?.cleanup();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

describe('an upstream that echoes the request', () => {
  it('an httpbin-style /headers echo: the child reads the placeholder, the upstream got the key', async () => {
    const result = await h.run(curl('https://api.example.test/reflect'), { verbose: true });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(lastJson(result).headers['x-api-key'], PLACEHOLDER);
    assert.deepEqual(headerValues(upstream.received('/reflect')[0]!.rawHeaders, 'x-api-key'), [ACME_KEY]);
    assertNoSecretIn(result.stdout, SECRETS, 'what the child read');
    assert.match(result.stderr, /proxy: GET api\.example\.test\/reflect: the answer quoted the credential; 1 copy replaced with authsome-proxy-managed/);
    assert.equal((await h.lastRun()).echoes_replaced, 1);
  });

  it('Basic credentials, and an error page or problem+json quoting them, in the body and in response headers', async () => {
    const result = await h.run(['sh', '-c', [
      'https://git.example.test/reflect?header=1',
      'https://git.example.test/reflect?type=text/html;%20charset=utf-8',
      'https://git.example.test/reflect?type=application/problem%2Bjson',
    ].map((url) => `curl -sS --max-time 20 -D - '${url}'; echo`).join('; ')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^x-echo-authorization: Basic authsome-proxy-managed\r?$/im);
    const bodies = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { headers: Record<string, string> });
    assert.equal(bodies.length, 3);
    for (const body of bodies) assert.equal(body.headers.authorization, `Basic ${PLACEHOLDER}`);
    assert.match(result.stdout, /^content-type: text\/html; charset=utf-8\r?$/im);
    assertNoSecretIn(result.stdout, SECRETS, 'what the child read');
    assert.ok(upstream.received('/reflect').every((r) => r.headers.authorization === `Basic ${BASIC}`));
  });

  it('a small answer that quotes the key is scrubbed whole and sent with its new Content-Length, not re-chunked', async () => {
    // Kept whole (response-guard.ts, WHOLE_BODY_LIMIT): the placeholder changes the length, and
    // the child is told the new one, so head and body leave the proxy together.
    const result = await h.run(curl('-D', '-', 'https://api.example.test/reflect?pad=2000'));
    assert.equal(result.code, 0, result.stderr);
    // curl -D shows the proxy's CONNECT answer first; the upstream's head and body come last.
    const [head, body] = result.stdout.split(/\r?\n\r?\n/).slice(-2) as [string, string];
    assert.equal(JSON.parse(body).headers['x-api-key'], PLACEHOLDER);
    assert.match(head, new RegExp(`^content-length: ${Buffer.byteLength(body)}\\r?$`, 'im'), head);
    assert.doesNotMatch(head, /^transfer-encoding:/im);
    assertNoSecretIn(result.stdout, SECRETS, 'what the child read');
    assert.equal((await h.lastRun()).echoes_replaced, 1);
  });

  it('a query key: stripped from Location and Content-Location; the followed redirect still gets it', async () => {
    const result = await h.run(curl('-L', '-D', '-', 'https://third.example.test/redirect?x=1&api_key=child-value&y=2'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^location: \/echo\/landed\?x=1&y=2\r?$/im, 'the other parameters keep their place');
    assert.match(result.stdout, /^content-location: https:\/\/third\.example\.test\/echo\/landed\?x=1&y=2\r?$/im);
    assertNoSecretIn(result.stdout, SECRETS, 'what the child read');
    const landed = upstream.received('/echo/landed');
    assert.equal(landed.length, 1);
    assert.deepEqual(landed[0]!.query, { x: '1', y: '2', api_key: QUERY_KEY }, 'the proxy added the key to the followed request');
    assert.equal(lastJson(result).query.api_key, PLACEHOLDER, 'and the echo of it was replaced');
  });

  it('a body written 7 bytes at a time, the key split across chunks; and one behind 3 MB of padding', async () => {
    const result = await h.run(['sh', '-c', `${curl("'https://api.example.test/reflect?slice=7'").join(' ')}; echo; ${curl("'https://api.example.test/reflect?pad=3000000'").join(' ')} | ${SUMMARY}`]);
    assert.equal(result.code, 0, result.stderr);
    const [split, padded] = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { pad: number; headers: Record<string, string> });
    assert.equal(split!.headers['x-api-key'], PLACEHOLDER);
    assert.equal(padded!.headers['x-api-key'], PLACEHOLDER);
    assert.equal(padded!.pad, 3_000_000, 'the body arrived whole');
    assertNoSecretIn(result.stdout, SECRETS, 'what the child read');
  });

  it('compressed answers (gzip, deflate, br) are decoded and scanned; a coding the proxy cannot decode is not asked for, identity when none is left', async () => {
    const fetchScript = 'fetch(process.argv[1]).then((r) => r.text()).then((t) => console.log(t))';
    const result = await h.run(['sh', '-c', [
      `${curl('--compressed', '-H', "'Accept-Encoding: zstd, gzip'", "'https://api.example.test/reflect?encoding=gzip'").join(' ')}; echo`,
      `${curl('--compressed', "'https://api.example.test/reflect?encoding=deflate'").join(' ')}; echo`,
      `${process.execPath} -e '${fetchScript}' 'https://api.example.test/reflect?encoding=br'`,
      `${curl('-H', "'Accept-Encoding: zstd'", "'https://api.example.test/reflect'").join(' ')}; echo`,
    ].join('; ')]);
    assert.equal(result.code, 0, result.stderr);
    const bodies = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { headers: Record<string, string> });
    assert.equal(bodies.length, 4, result.stdout);
    for (const body of bodies) assert.equal(body.headers['x-api-key'], PLACEHOLDER);
    assertNoSecretIn(result.stdout, SECRETS, 'what the child read');
    assert.equal(upstream.received('/reflect')[0]!.headers['accept-encoding'], 'gzip', 'zstd was taken out of the request');
    // Without the header a server may choose any coding (RFC 9110 §12.5.3): none left means identity.
    assert.equal(upstream.received('/reflect')[3]!.headers['accept-encoding'], 'identity', 'a request left with no decodable coding asks for identity');
  });

  it('server-sent events that echo the key stream one by one: each event reaches the child before the next is sent', async () => {
    // The child asks for the next event only once it has read one: a proxy that held the stream
    // back would never deliver the first, and the child would time out.
    const script = `(async () => {
      setTimeout(() => { console.log('timeout: an event never arrived'); process.exit(2); }, 15000).unref();
      const res = await fetch('https://api.example.test/sse-echo?n=3');
      const decoder = new TextDecoder();
      let text = '';
      let seen = 0;
      for await (const chunk of res.body) {
        text += decoder.decode(chunk, { stream: true });
        const events = [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]);
        for (; seen < events.length; seen++) {
          console.log(events[seen]);
          if (seen < 2) await (await fetch('https://api.example.test/sse-next')).text();
        }
      }
    })()`;
    const result = await h.run([process.execPath, '-e', script]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    assert.deepEqual(events, [{ 'x-api-key': PLACEHOLDER }, { 'x-api-key': PLACEHOLDER }, { 'x-api-key': PLACEHOLDER }]);
    assertNoSecretIn(result.stdout, SECRETS, 'what the child read');
    assert.deepEqual(headerValues(upstream.received('/sse-echo')[0]!.rawHeaders, 'x-api-key'), [ACME_KEY]);
  });
});
