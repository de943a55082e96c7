// The proxy's answer when a routed request cannot carry its credential, for each kind of failure
// the broker reports (mid-run.test.ts sees the 401s through a real run; a store outage is slow to
// stage there, so the status each error gets is pinned here): 401 when a login fixes it, 503 when
// the store is out of reach, 502 otherwise; headers a client can read; no secret in the body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteTable } from '../../src/proxy/routes.ts';
import { credentialRefusal, rawRefusal } from '../../src/proxy/refusal.ts';
import { AuthsomeError } from '../../src/util/index.ts';

const [route] = new RouteTable([{
  provider: 'github', connection: 'work', auth_type: 'oauth2', rules: [{ url: 'api.github.com', headers: {} }], own_endpoints: [], env_vars: [], strip_env_vars: [],
}]).routes;

describe('a credential the proxy cannot get', () => {
  it('a rejected refresh: 401, the Bearer challenge, and the login command in the JSON body', () => {
    const error = new AuthsomeError('refresh_failed', 'refresh failed for github (work): invalid_grant', {
      hint: 'Log in again: authsome login github --connection work --force', provider: 'github', connection: 'work',
    });
    const refusal = credentialRefusal(error, route!);
    assert.equal(refusal.status, 401);
    assert.equal(refusal.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(refusal.headers['www-authenticate'], 'Bearer realm="authsome", error="invalid_token", error_description="refresh failed for github (work): invalid_grant"');
    assert.deepEqual(JSON.parse(refusal.body), {
      error: 'authsome_credential_unavailable', code: 'refresh_failed', provider: 'github', connection: 'work',
      message: 'refresh failed for github (work): invalid_grant', hint: 'Log in again: authsome login github --connection work --force',
    });
  });

  it('a removed connection: 401 with the login command', () => {
    const error = new AuthsomeError('credential_missing', 'no connection "work" for github in profile "default"', { hint: 'Log in with: authsome login github --connection work', provider: 'github', connection: 'work' });
    const refusal = credentialRefusal(error, route!);
    assert.equal(refusal.status, 401);
    assert.equal(JSON.parse(refusal.body).hint, 'Log in with: authsome login github --connection work');
  });

  it('the store out of reach — directly, or under a refresh that needed it — is a 503 to retry, not a login', () => {
    const outage = new AuthsomeError('store_unavailable', 'cannot reach the PostgreSQL store at postgres://db/authsome (tried for 4.0 s): connect ECONNREFUSED');
    const viaRefresh = new AuthsomeError('refresh_failed', 'refresh failed for github (work): store unavailable', { cause: outage, provider: 'github', connection: 'work' });
    for (const error of [outage, viaRefresh, new AuthsomeError('master_key_mismatch', 'the master key does not match this store')]) {
      const refusal = credentialRefusal(error, route!);
      assert.equal(refusal.status, 503, error.message);
      assert.equal(refusal.headers['retry-after'], '5');
      assert.equal(refusal.headers['www-authenticate'], undefined);
      assert.equal(JSON.parse(refusal.body).provider, 'github', 'the route names the provider when the error does not');
    }
  });

  it('anything else is a 502 with the same body', () => {
    const refusal = credentialRefusal(new Error('boom'), route!);
    assert.equal(refusal.status, 502);
    assert.deepEqual(JSON.parse(refusal.body), { error: 'authsome_credential_unavailable', code: 'internal', provider: 'github', connection: 'work', message: 'boom' });
  });

  it('known secrets are masked, and the challenge holds only the characters RFC 6750 allows', () => {
    const error = new AuthsomeError('refresh_failed', 'refresh failed for github (work): "odd" \\ reason with gho_secretvalue1 and é', { provider: 'github', connection: 'work', hint: 'gho_secretvalue1' });
    const refusal = credentialRefusal(error, route!, (text) => text.replaceAll('gho_secretvalue1', '[REDACTED]'));
    assert.ok(!refusal.body.includes('gho_secretvalue1'));
    assert.ok(!refusal.headers['www-authenticate']!.includes('gho_secretvalue1'));
    assert.match(refusal.headers['www-authenticate']!, /error_description="refresh failed for github \(work\): \?odd\? \? reason with \[REDACTED\] and \?"$/);
  });

  it('an upgrade gets the same answer as raw HTTP/1.1, and the connection closes', () => {
    const refusal = credentialRefusal(new AuthsomeError('credential_missing', 'gone', { provider: 'github', connection: 'work' }), route!);
    const raw = rawRefusal(refusal);
    assert.match(raw, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.match(raw, /\r\nconnection: close\r\n\r\n/);
    assert.match(raw, new RegExp(`\\r\\ncontent-length: ${Buffer.byteLength(refusal.body)}\\r\\n`));
    assert.ok(raw.endsWith(refusal.body));
  });
});
