// When a refresh token lapses, worked out from a token answer (src/oauth/tokens.ts): the answer's
// refresh_expires_in wins; a rotated token lives the definition's lifetime; a kept one keeps the end
// it had, whatever set it; an idle window ends it sooner, restarted by this use.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toTokenSet } from '../../src/oauth/tokens.ts';

const now = new Date('2026-12-01T00:00:00Z');
const at = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();
const answer = (extra: Record<string, unknown> = {}) => ({ tokens: { access_token: 'at-0123456789', token_type: 'Bearer', expires_in: 3600, ...extra }, claims: undefined }) as unknown as Parameters<typeof toTokenSet>[0];
const end = (set: ReturnType<typeof toTokenSet>) => set.refresh_expires_at?.toISOString() ?? null;

describe('the end of a refresh token', () => {
  it('refresh_expires_in in the answer wins', () => {
    assert.equal(end(toTokenSet(answer({ refresh_token: 'rt-new-0123456', refresh_expires_in: 86_400 }), { now, refreshLifetime: 90 * 86_400 })), at(1));
  });

  it('a rotated token lives the definition\'s refresh_token_lifetime', () => {
    assert.equal(end(toTokenSet(answer({ refresh_token: 'rt-new-0123456' }), { now, refreshLifetime: 90 * 86_400 })), at(90));
  });

  it('a kept token keeps the end it had, also one a login\'s refresh_expires_in set', () => {
    const previous = new Date(at(20));
    assert.equal(end(toTokenSet(answer(), { now, keepsRefreshToken: true, previousRefreshExpiresAt: previous })), at(20));
    assert.equal(end(toTokenSet(answer(), { now, keepsRefreshToken: true, previousRefreshExpiresAt: previous, refreshLifetime: 90 * 86_400 })), at(20));
  });

  it('an idle window ends it sooner, and this use restarts it', () => {
    assert.equal(end(toTokenSet(answer(), { now, keepsRefreshToken: true, previousRefreshExpiresAt: new Date(at(3)), refreshIdleLifetime: 30 * 86_400 })), at(30));
    assert.equal(end(toTokenSet(answer(), { now, keepsRefreshToken: true, previousRefreshExpiresAt: new Date(at(20)), refreshLifetime: 90 * 86_400, refreshIdleLifetime: 30 * 86_400 })), at(20));
  });
});
