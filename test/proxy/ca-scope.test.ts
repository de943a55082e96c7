// The names a run's CA may vouch for, from each route: a literal host is its own name, a wildcard
// host the domain below it; a `regex:` host gets the literal domain every match must end in, or none — then the route is
// refused (parseRouteTarget), so neither `run` nor `authsome route` gives it a credential, rather
// than a CA that can vouch for any host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRouteTarget } from '../../src/providers/route-rule.ts';
import { scopeOfPattern } from '../../src/providers/host-scope.ts';
import { permits } from '../../src/proxy/ca-scope.ts';

/** The scope a route gets, or null when the route is refused. */
function scopeOfRule(url: string) {
  try {
    return parseRouteTarget(url).scope;
  } catch {
    return null;
  }
}

describe('the CA scope of a route', () => {
  it('a host, a URL with a path, an address', () => {
    assert.deepEqual(scopeOfRule('api.openai.com'), [{ dns: 'api.openai.com' }]);
    assert.deepEqual(scopeOfRule('https://API.Example.com/v2'), [{ dns: 'api.example.com' }]);
    assert.deepEqual(scopeOfRule('https://10.0.0.7:8443/v1'), [{ ip: '10.0.0.7' }]);
    assert.deepEqual(scopeOfRule('https://[::1]:8443/'), [{ ip: '::1' }]);
  });

  it('a wildcard host: the domain below the star, never a top-level domain alone', () => {
    assert.deepEqual(scopeOfRule('https://*.googleapis.com'), [{ dns: 'googleapis.com' }]);
    assert.deepEqual(scopeOfRule('https://*.svc.pinecone.io:8443/v1'), [{ dns: 'svc.pinecone.io' }]);
    assert.equal(scopeOfRule('https://*.com'), null);
  });

  const derived: Array<[string, string[] | null]> = [
    ['[a-z0-9-]+\\.googleapis\\.com', ['googleapis.com']],
    ['^[a-z0-9]+\\.bench\\.test$', ['bench.test']], // the benchmark's, anchors included
    ['api\\.example\\.test', ['api.example.test']],
    ['[a-z]+-api\\.example\\.com', ['example.com']], // ends in "-api.example.com", so in ".example.com"
    ['(?:api|www)\\.example\\.com', ['example.com']],
    ['api\\.one\\.com|[a-z]+\\.two\\.org', ['api.one.com', 'two.org']],
    ['(api\\.one\\.com|api\\.two\\.org)', ['api.one.com', 'api.two.org']],
    // None: no literal domain, a one-label suffix, a suffix under a quantifier or in a class.
    ['.*', null],
    ['.*\\.com', null],
    ['api\\.example\\.[a-z]+', null],
    ['[a-z]+googleapis\\.com', null], // matches xgoogleapis.com: only "com" is certain
    ['api\\.example\\.co+m', null],
    ['api\\.example\\.co[m]', null],
    ['api\\.one\\.com|.*', null], // one alternative without a domain spoils the route
    ['(api\\.one\\.com', null], // malformed
  ];
  for (const [pattern, names] of derived) {
    it(`regex:${pattern} → ${names ? names.join(', ') : 'none'}`, () => {
      const scope = scopeOfPattern(pattern);
      assert.deepEqual(scope?.map((s) => ('dns' in s ? s.dns : s.ip)) ?? null, names);
    });
  }

  it('a subtree holds the name and the names below it, never a look-alike', () => {
    const scope = { dns: ['googleapis.com'], ips: ['::1'] };
    assert.equal(permits(scope, 'googleapis.com'), true);
    assert.equal(permits(scope, 'storage.googleapis.com'), true);
    assert.equal(permits(scope, 'evilgoogleapis.com'), false);
    assert.equal(permits(scope, 'googleapis.com.attacker.test'), false);
    assert.equal(permits(scope, '0:0::1'), true);
    assert.equal(permits(scope, '127.0.0.1'), false);
  });
});
