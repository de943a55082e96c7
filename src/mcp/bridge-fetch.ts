// The bridge's fetch: every request to the MCP server gets the broker's Authorization header (the
// stdio client never sees it); a 401 leads to at most one refresh per token generation and one
// retry, with the proxy's bounds; a 403 insufficient_scope to at most one step-up login per scope set.
import { setMaxListeners } from 'node:events';
// The proxy's bounds (broker/credential-cache.ts): one refresh per token generation, none for a token
// under a minute old (it lacks a permission a new one would lack too).
import { RefreshAfter401 } from '../broker/index.ts';
import { parseBearerChallenge } from '../util/index.ts';

/** The credential for one request, from the broker's access path (renewed first when due). */
export interface BridgeCredential {
  /** The headers that carry it (Authorization: Bearer …, or an API key's own). Never logged, never relayed. */
  headers: Record<string, string>;
  /** The token itself, to tell one generation from the next. */
  credential: string;
  /** When the token was issued (epoch ms), null when unknown. */
  obtainedAt: number | null;
  /** When to ask the broker again (the token falls due), epoch ms; null: until the store says otherwise. */
  renewAt: number | null;
}

export interface BridgeCredentials {
  /** The current credential: refreshed first when due (the refresh protocol, leases shared with every process). */
  current(): Promise<BridgeCredential>;
  /** Renews now (through the same lease); null when the provider could not renew it for now. */
  refresh(): Promise<BridgeCredential | null>;
  /** Logs in again asking for these scopes (MCP 2025-11-25 step-up); false when that is not possible. */
  stepUp?(scopes: string[]): Promise<boolean>;
}

/** Step-ups per bridge process, whatever scopes are asked: a server that keeps asking is not obeyed forever. */
export const MAX_STEP_UPS = 3;

export interface AuthorizedFetchOptions {
  credentials: BridgeCredentials;
  log: (line: string) => void;
  fetch?: typeof fetch;
}

export interface AuthorizedFetch {
  fetch: typeof fetch;
  /** What the session's requests led to, for the audit entry. */
  readonly stats: { refreshes_after_401: number; step_ups: number };
  /** Forgets the credential held: the store changed (another process refreshed, a login, a logout). */
  invalidate(): void;
}

/**
 * The credential held in memory until it falls due or the store's change feed says it changed, as
 * the proxy holds its credentials (src/proxy/credentials.ts): a store read and a decryption per
 * message would cost more than the bridge's whole relaying.
 */
function holdCredential(credentials: BridgeCredentials): { current(): Promise<BridgeCredential>; set(value: BridgeCredential): void; invalidate(): void } {
  let held: Promise<BridgeCredential> | null = null;
  return {
    async current() {
      if (held) {
        const value = await held.catch(() => null);
        if (value && (value.renewAt === null || Date.now() < value.renewAt)) return value;
      }
      const asked = credentials.current();
      held = asked;
      asked.catch(() => {
        if (held === asked) held = null;
      });
      return asked;
    },
    set(value) {
      held = Promise.resolve(value);
    },
    invalidate() {
      held = null;
    },
  };
}

export function authorizedFetch(options: AuthorizedFetchOptions): AuthorizedFetch {
  const { log } = options;
  const holder = holdCredential(options.credentials);
  const credentials: BridgeCredentials = {
    current: () => holder.current(),
    refresh: async () => {
      const renewed = await options.credentials.refresh();
      if (renewed) holder.set(renewed);
      return renewed;
    },
    ...(options.credentials.stepUp ? {
      stepUp: async (scopes: string[]) => {
        const done = await options.credentials.stepUp!(scopes);
        holder.invalidate();
        return done;
      },
    } : {}),
  };
  const send = options.fetch ?? fetch;
  const after401 = new RefreshAfter401<BridgeCredential>();
  const steppedUpFor = new Set<string>();
  let stepUps = 0;
  const stats = { refreshes_after_401: 0, step_ups: 0 };
  let steppingUp: Promise<boolean> | null = null;

  const withCredential = (init: RequestInit | undefined, credential: BridgeCredential): RequestInit => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(credential.headers)) headers.set(name, value);
    return { ...init, headers };
  };

  /** After a 401 for a request that carried `used`: a credential to retry with, or null (the 401 stands). */
  const renewAfter401 = async (used: BridgeCredential): Promise<BridgeCredential | null> => {
    const { renewed, why } = await after401.renew(used, () => credentials.current(), () => {
      stats.refreshes_after_401++;
      return credentials.refresh();
    });
    // A refresh that fails leaves the 401 as the answer for the client (with its HTTP status), not a bridge error.
    if (!renewed) log(`mcp: 401, and ${why}; the client gets the 401`);
    return renewed;
  };

  /** After a 403 insufficient_scope: whether a step-up login got a token worth retrying with. */
  const stepUp = async (scopes: string[]): Promise<boolean> => {
    if (!credentials.stepUp || scopes.length === 0) return false;
    const key = [...scopes].sort().join(' ');
    if (steppingUp) return steppingUp;
    if (steppedUpFor.has(key) || stepUps >= MAX_STEP_UPS) {
      log(`mcp: 403 insufficient_scope for "${key}" again; no more step-up (one per scope set, ${MAX_STEP_UPS} per session)`);
      return false;
    }
    steppedUpFor.add(key);
    stepUps++;
    stats.step_ups++;
    steppingUp = credentials.stepUp(scopes).finally(() => (steppingUp = null));
    return steppingUp;
  };

  const quieted = new WeakSet<AbortSignal>();
  const fetchWithCredential: typeof fetch = async (input, init) => {
    // The SDK's transport gives every request its one AbortSignal; Node's fetch hangs a listener on
    // it per Request and lets it go only when that Request is collected, so a busy session passes
    // Node's 1500-listener warning between collections (on stderr, to the user) without leaking.
    if (init?.signal && !quieted.has(init.signal)) {
      setMaxListeners(0, init.signal);
      quieted.add(init.signal);
    }
    let used = await credentials.current();
    let response = await send(input, withCredential(init, used));
    if (response.status === 401) {
      const renewed = await renewAfter401(used);
      if (renewed) {
        await response.body?.cancel().catch(() => undefined);
        used = renewed;
        response = await send(input, withCredential(init, used));
      }
    }
    if (response.status === 403) {
      const challenge = parseBearerChallenge(response.headers.get('www-authenticate'));
      if (challenge?.error === 'insufficient_scope' && (await stepUp(challenge.scope?.split(' ').filter(Boolean) ?? []))) {
        await response.body?.cancel().catch(() => undefined);
        response = await send(input, withCredential(init, await credentials.current()));
      }
    }
    return response;
  };
  return { fetch: fetchWithCredential, stats, invalidate: () => holder.invalidate() };
}
