// parseKey finds the parts with indexOf instead of split() (a list parses every key of the profile,
// issue 18); it must still answer exactly as splitting on ":" does, the Python store's rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKey } from '../../src/vault/index.ts';

/** The rule as the Python implementation states it. */
function bySplit(key: string) {
  const parts = key.split(':');
  if (parts[0] !== 'profile' || parts.length < 4) return null;
  const [, profile, provider, kind, connection] = parts as [string, string, string, string, string?];
  if (kind === 'connection' && parts.length === 5 && connection) return { profile, provider, kind, connection };
  if ((kind === 'metadata' || kind === 'client' || kind === 'state') && parts.length === 4) return { profile, provider, kind };
  return null;
}

describe('parseKey', () => {
  it('answers as splitting on ":" does, for every key of a set built from the awkward parts', () => {
    const parts = ['profile', 'default', '', 'openai', 'connection', 'metadata', 'client', 'state', 'work', 'profiles', 'x:y', 'Profile'];
    const keys = new Set<string>(['', ':', 'profile', 'profile:', 'profile:default:openai:connection:', 'profile:default:openai:connection:work:']);
    for (const a of parts) for (const b of parts) {
      keys.add(`${a}:${b}`);
      for (const c of parts) {
        keys.add(`${a}:${b}:${c}`);
        for (const d of parts) {
          keys.add(`${a}:${b}:${c}:${d}`);
          keys.add(`profile:${a}:${b}:${c}:${d}`);
        }
      }
    }
    let parsed = 0;
    for (const key of keys) {
      const expected = bySplit(key);
      assert.deepEqual(parseKey(key), expected, key);
      if (expected) parsed += 1;
    }
    assert.ok(parsed > 100, 'the set holds keys of every kind, not only refusals');
  });
});
