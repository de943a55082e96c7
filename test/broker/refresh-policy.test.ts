// When a token is due: min(300 s, half its lifetime) before expiry; the daemon's look-ahead never
// makes a short-lived token due on every scan; API keys and tokens of unknown expiry never are.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dueFrom, isDue, refreshWindowMs } from '../../src/broker/refresh-policy.ts';
import { toRecordTimestamp } from '../../src/util/index.ts';
import type { ConnectionRecord } from '../../src/vault/index.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const token = (lifetimeS: number, remainingS: number, extra: Partial<ConnectionRecord> = {}) => ({
  auth_type: 'oauth2', status: 'connected', access_token: 'a', refresh_token: 'r', metadata: {},
  obtained_at: toRecordTimestamp(new Date(NOW + (remainingS - lifetimeS) * 1000)),
  expires_at: toRecordTimestamp(new Date(NOW + remainingS * 1000)), ...extra,
}) as ConnectionRecord;

describe('the refresh window', () => {
  it('is 300 s for an hour-long token', () => {
    assert.equal(refreshWindowMs(token(3600, 3000)), 300_000);
    assert.equal(isDue(token(3600, 301), NOW), false);
    assert.equal(isDue(token(3600, 300), NOW), true);
  });

  it('is half the lifetime of a short-lived token', () => {
    assert.equal(refreshWindowMs(token(120, 100)), 60_000);
    assert.equal(isDue(token(120, 61), NOW), false);
    assert.equal(isDue(token(120, 60), NOW), true);
  });

  it('looks ahead at most half the window', () => {
    assert.equal(isDue(token(3600, 360), NOW, 60_000), true);
    assert.equal(isDue(token(3600, 361), NOW, 60_000), false);
    assert.equal(isDue(token(20, 16), NOW, 60_000), false, 'a 20 s token is not due 16 s before expiry');
    assert.equal(isDue(token(20, 15), NOW, 60_000), true);
  });

  it('never applies to API keys or tokens with no known expiry; always to a connection left expired', () => {
    assert.equal(isDue({ ...token(3600, -10), auth_type: 'api_key' }, NOW), false);
    assert.equal(isDue({ ...token(3600, 10), expires_at: null }, NOW), false);
    assert.equal(isDue(token(3600, 3000, { status: 'expired' }), NOW), true);
  });
});

describe('dueFrom: the earliest moment a scan must look at a connection (issue 18)', () => {
  it('is never later than isDue, for any look-ahead: a scan that reads only connections past it misses none', () => {
    const lifetimes = [60, 120, 600, 3600, 86_400];
    const lapses = [undefined, 3600, 86_400, 30 * 86_400];
    let checked = 0;
    for (const lifetime of lifetimes) {
      for (const lapseS of lapses) {
        for (const status of ['connected', 'expired'] as const) {
          const extra: Partial<ConnectionRecord> = { status };
          if (lapseS !== undefined) extra.refresh_expires_at = toRecordTimestamp(new Date(NOW + lapseS * 1000));
          const record = token(lifetime, lifetime, extra);
          const from = dueFrom(record);
          for (let offsetS = -lifetime; offsetS <= 40 * 86_400; offsetS += Math.max(1, Math.floor(lifetime / 7))) {
            for (const lookahead of [0, 60_000, 3_600_000]) {
              const now = NOW + offsetS * 1000;
              if (!isDue(record, now, lookahead)) continue;
              checked++;
              assert.ok(from !== null && from <= now, `${lifetime} s token, lapse ${lapseS}, ${status}: due at +${offsetS} s but dueFrom says ${from}`);
            }
          }
        }
      }
    }
    assert.ok(checked > 100);
  });

  it('is null for what never falls due by itself, and far off for a fresh month-long token', () => {
    assert.equal(dueFrom({ ...token(3600, 3600), auth_type: 'api_key', access_token: null, refresh_token: null, api_key: 'k' }), null);
    assert.equal(dueFrom(token(3600, 3600, { status: 'invalid' })), null);
    assert.equal(dueFrom(token(3600, 3600, { refresh_token: null })), null);
    assert.equal(dueFrom(token(3600, 3600, { status: 'expired' })), -Infinity);
    assert.ok(dueFrom(token(30 * 86_400, 30 * 86_400))! > NOW + 29 * 86_400_000);
  });
});
