// Credentials held in memory per connection and renewed through the broker when due, for the
// doors that send requests themselves (run's proxy, the library's fetch, the MCP server): an
// upstream 401 causes at most one refresh per token generation, and none for a young token.
import type { Injection, RouteSpec } from './proxy-support.ts';

/** What a credential is held for: a route of the table (its spec names the connection). */
export interface CredentialKey {
  spec: Pick<RouteSpec, 'provider' | 'connection'>;
}

export interface CredentialSource {
  injection(provider: string, connection: string): Promise<Injection>;
  /** Renews now; the new credential, or null when the provider could not renew it (a transient failure). */
  refresh(provider: string, connection: string): Promise<Injection | null>;
  /**
   * Reports credentials changed elsewhere (another process or machine refreshed them), or null
   * for "anything may have changed"; resolves to a stop function, or null without a change feed.
   */
  watch?(onChange: (changed: { provider: string; connection: string } | null) => void): Promise<(() => Promise<void>) | null>;
}

/**
 * A token younger than this that an upstream answers 401 is not refreshed: the 401 goes to the
 * caller (run's child, fetch's caller). Lifetimes are minutes at the least (5 min for the shortest common ones), and a token due
 * soon is renewed before it is injected anyway, so a token under a minute old that is refused lacks
 * a permission (scope, audience, a revoked grant) that a new one would lack too. It also caps the
 * refreshes a refusing upstream can cause at one a minute per connection.
 */
export const MIN_TOKEN_AGE_FOR_REFRESH_MS = 60_000;

/** What a 401 led to: a credential to replay with, or null and the reason there is none. */
export type Renewal = { injection: Injection; why: string } | { injection: null; why: string };

/** A held credential as the 401 bounds see it: its value (one per token generation) and when it was issued. */
export interface HeldToken {
  credential: string;
  /** Epoch ms; null when unknown. */
  obtainedAt: number | null;
}

/**
 * The bounds on refreshing after an upstream 401, for one connection; every door that sends
 * requests itself (run's proxy and the library's fetch through CredentialCache, the MCP bridge)
 * keeps one per connection. At most one refresh per token generation, shared by every request that
 * saw the 401, and none for a token younger than MIN_TOKEN_AGE_FOR_REFRESH_MS, unless the
 * credential was already replaced meanwhile. Without these bounds an upstream that refuses every
 * request — for a missing scope, a wrong audience, or out of malice — turned each request into a
 * refresh, spending rotating refresh tokens at the provider's rate limit (issue 14, item 7).
 */
export class RefreshAfter401<T extends HeldToken> {
  #refreshing: Promise<T | null | { failed: string }> | null = null;
  /** The token whose 401 last caused a refresh. */
  #refreshedAfter: string | null = null;

  /**
   * `current` reads the credential held now; `refresh` renews (called only when a refresh starts).
   * `renewed` is null when nothing new came: the 401 then goes to the caller, the refused token is
   * not sent again, and `why` says which bound held.
   */
  async renew(used: T, current: () => Promise<T>, refresh: () => Promise<T | null>): Promise<{ renewed: T; why: string } | { renewed: null; why: string }> {
    const now = await current();
    if (now.credential !== used.credential) return { renewed: now, why: 'replaced meanwhile' };
    if (!this.#refreshing) {
      if (this.#refreshedAfter === used.credential) return { renewed: null, why: 'this token was refreshed once after a 401 already' };
      const ageMs = used.obtainedAt === null ? null : Date.now() - used.obtainedAt;
      if (ageMs !== null && ageMs < MIN_TOKEN_AGE_FOR_REFRESH_MS) {
        return { renewed: null, why: `the token is ${Math.max(0, Math.round(ageMs / 1000))} s old; one under ${MIN_TOKEN_AGE_FOR_REFRESH_MS / 1000} s is refused for what it may do, not for its age, so it is not refreshed` };
      }
      this.#refreshedAfter = used.credential;
      // A refresh that fails (no refresh token, a rejected grant, a store outage) leaves the 401 as
      // the answer: the caller gets the upstream's refusal, as `run`'s child does, not an exception.
      const refreshing: Promise<T | null | { failed: string }> = refresh().catch((error: unknown) => ({ failed: error instanceof Error ? error.message : String(error) }));
      this.#refreshing = refreshing;
      void refreshing.finally(() => {
        if (this.#refreshing === refreshing) this.#refreshing = null;
      });
    }
    const renewed = await this.#refreshing;
    if (renewed && 'failed' in renewed) return { renewed: null, why: `the refresh failed: ${renewed.failed}` };
    return renewed && renewed.credential !== used.credential ? { renewed, why: 'refreshed' } : { renewed: null, why: 'the refresh gave no new token' };
  }
}

export class CredentialCache {
  readonly #source: CredentialSource;
  readonly #cache = new Map<string, Promise<Injection>>();
  readonly #after401 = new Map<string, RefreshAfter401<Injection>>();

  constructor(source: CredentialSource) {
    this.#source = source;
  }

  /** The credential for a route; asks the broker again once the token falls due. */
  async get(route: CredentialKey): Promise<Injection> {
    const key = keyOf(route);
    let pending = this.#cache.get(key);
    if (pending) {
      const current = await pending.catch(() => null);
      if (current && (current.renewAt === null || Date.now() < current.renewAt)) return current;
      if (this.#cache.get(key) === pending) this.#cache.delete(key);
    }
    pending = this.#cache.get(key);
    if (!pending) {
      pending = this.#source.injection(route.spec.provider, route.spec.connection);
      this.#cache.set(key, pending);
      pending.catch(() => this.#cache.delete(key));
    }
    return pending;
  }

  /** Forgets a held credential (all of them without an argument): the next request reads it again. */
  invalidate(changed: { provider: string; connection: string } | null): void {
    if (!changed) this.#cache.clear();
    else this.#cache.delete(`${changed.provider}\0${changed.connection}`);
  }

  /** After an upstream 401 for a request that carried `used`: a credential to replay with, within RefreshAfter401's bounds. */
  async renewAfter401(route: CredentialKey, used: Injection): Promise<Renewal> {
    const key = keyOf(route);
    let bounds = this.#after401.get(key);
    if (!bounds) this.#after401.set(key, (bounds = new RefreshAfter401()));
    const { renewed, why } = await bounds.renew(used, () => this.get(route), async () => {
      const fresh = await this.#source.refresh(route.spec.provider, route.spec.connection);
      if (fresh) this.#cache.set(key, Promise.resolve(fresh));
      return fresh;
    });
    return renewed ? { injection: renewed, why } : { injection: null, why };
  }
}

function keyOf(route: CredentialKey): string {
  return `${route.spec.provider}\0${route.spec.connection}`;
}
