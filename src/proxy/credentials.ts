// Credentials for the proxy, held in memory per route and renewed through the broker when due,
// with one refresh in flight per route when an upstream answers 401.
import type { Injection } from '../broker/index.ts';
import type { Route } from './routes.ts';

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

export class CredentialCache {
  readonly #source: CredentialSource;
  readonly #cache = new Map<string, Promise<Injection>>();
  readonly #refreshing = new Map<string, Promise<Injection | null>>();

  constructor(source: CredentialSource) {
    this.#source = source;
  }

  /** The credential for a route; asks the broker again once the token falls due. */
  async get(route: Route): Promise<Injection> {
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

  /**
   * After an upstream 401 for a request that carried `used`: one refresh (shared by every request
   * that saw the same 401), unless the credential was already replaced meanwhile. Null when it
   * could not be renewed: the 401 then goes to the child, and the refused token is not sent again.
   */
  async renewAfter401(route: Route, used: Injection): Promise<Injection | null> {
    const key = keyOf(route);
    const current = await this.get(route);
    if (current.credential !== used.credential) return current;
    let refreshing = this.#refreshing.get(key);
    if (!refreshing) {
      refreshing = this.#source.refresh(route.spec.provider, route.spec.connection).then((renewed) => {
        if (renewed) this.#cache.set(key, Promise.resolve(renewed));
        return renewed;
      }).finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, refreshing);
    }
    const renewed = await refreshing;
    return renewed && renewed.credential !== used.credential ? renewed : null;
  }
}

function keyOf(route: Route): string {
  return `${route.spec.provider}\0${route.spec.connection}`;
}
