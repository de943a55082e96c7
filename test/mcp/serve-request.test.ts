// A body the MCP server cuts off at its limit may end in the first characters of a credential
// whose rest was never read: scrubbing cannot find a credential it sees only half of, so that
// partial end is dropped before the agent gets the body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretForms, type Injection } from '../../src/broker/index.ts';
import { withoutPartialSecret } from '../../src/mcp/serve-request.ts';

const KEY = 'acme-secret-key-123456';
const injection: Injection = { headers: { 'X-Api-Key': KEY }, query: {}, credential: KEY, secrets: [KEY], renewAt: null, obtainedAt: null, oauth: false };

describe('withoutPartialSecret', () => {
  it('drops an end that begins a form of the credential, whatever its length', () => {
    const forms = secretForms(injection);
    for (let k = 1; k < KEY.length; k++) assert.equal(withoutPartialSecret(`{"key":"${KEY.slice(0, k)}`, forms), '{"key":"', `a prefix of ${k} characters`);
  });

  it('leaves an end that begins no credential', () => {
    assert.equal(withoutPartialSecret('{"key":"zzz', secretForms(injection)), '{"key":"zzz');
  });
});
