// The shortcuts `run`'s proxy takes on every request (issue 18) decide exactly what the long way
// decides: a plain path is returned as the URL parser would give it, and a remembered route
// decision is the one explain() makes, whatever the host's case, the query or the order of asks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizePathname } from '../../src/broker/proxy-support.ts';
import { RouteTable } from '../../src/broker/route-table.ts';
import type { RouteSpec } from '../../src/broker/proxy-support.ts';

/** normalizePathname before its shortcut: the URL parser, then repeated slashes and unreserved escapes. */
function parsed(path: string): string {
  return new URL(path.replace(/\/{2,}/g, '/'), 'https://authority.invalid').pathname.replace(/\/{2,}/g, '/').replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase();
  });
}

/** The path, or that it was refused: a path no URL can hold ("/\\x" names an authority) throws both ways. */
function outcome(normalize: (path: string) => string, path: string): string {
  try {
    return normalize(path);
  } catch (error) {
    return `throws ${(error as NodeJS.ErrnoException).code}`;
  }
}

describe('normalizePathname', () => {
  it('gives what the URL parser gives for plain paths and for every trick around them', () => {
    const tricky = ['/', '/v1/chat', '/v1/chat/', '//oauth/%74oken', '/a/./b', '/a/../b', '/a/..', '/a/.', '/.', '/..', '/a\\b', '/\\\\x', '/a#b', '/a b',
      '/%2e%2e/x', '/%2E/x', '/a//b', '/a/.b/..c/...', '/~user/x-y_z.json', "/a!$&'()*+,;=:@b", '/é', '/a|b', '/a^b', '/a"b', '/a{b}', '/a`b', '/a\tb'];
    for (const path of tricky) assert.equal(outcome(normalizePathname, path), outcome(parsed, path), path);
    // Random paths over an alphabet that mixes plain characters with every one the parser changes.
    const alphabet = ['/', '.', '..', 'a', 'Z', '0', '-', '_', '~', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', ':', '@', '%2e', '%41', '%2F', '\\', '#', ' ', '|', 'é'];
    let seed = 18;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      let path = '/';
      for (let n = Math.floor(next() * 8); n > 0; n--) path += alphabet[Math.floor(next() * alphabet.length)];
      assert.equal(outcome(normalizePathname, path), outcome(parsed, path), path);
    }
  });
});

describe('RouteTable.decide', () => {
  const spec = (provider: string, urls: string[], own: string[] = []): RouteSpec => ({
    provider, connection: 'default', auth_type: 'api_key', rules: urls.map((url) => ({ url, headers: {} })), own_endpoints: own, env_vars: [], strip_env_vars: [],
  });
  const table = () => new RouteTable([
    spec('wide', ['https://*.example.com']),
    spec('api', ['https://api.example.com/v1'], ['https://api.example.com/oauth/token']),
    spec('twin-a', ['https://twin.example.com']),
    spec('twin-b', ['https://twin.example.com']),
  ]);
  const asks: Array<[string, number, string]> = [
    ['api.example.com', 443, '/v1/chat'], ['API.Example.com', 443, '/v1/chat?x=1'], ['api.example.com', 443, '/v2/chat'], ['api.example.com', 443, '/oauth/token'],
    ['api.example.com', 8443, '/v1/chat'], ['other.example.com', 443, '/'], ['twin.example.com', 443, '/x'], ['example.org', 443, '/v1'],
    // The same characters split differently between host and path must not share a decision.
    ['api.example.com', 443, '/v1'], ['api.example.com/v1', 443, ''],
  ];

  it('answers each ask as explain() does, the first time and every time after, in any order', () => {
    const remembered = table();
    for (const round of [asks, [...asks].reverse(), asks]) {
      for (const [host, port, path] of round) {
        assert.deepEqual(remembered.decide(host, port, path), table().explain(host, port, path).decision, `${host}:${port}${path}`);
      }
    }
  });
});
