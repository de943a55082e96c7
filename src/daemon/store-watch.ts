// The daemon's in-memory view of every connection, kept current by the store's change feed: a
// refresh, login or logout in another process — or, on a shared PostgreSQL store, on another
// machine — reaches this daemon without rescanning the store (PostgreSQL: a NOTIFY within
// milliseconds; SQLite: the file's next poll, within a quarter second). While a feed is down (or
// for a backend without one) the view is reloaded on each background-refresh tick instead. Either
// way, every change to a connection is passed on to subscribers (the dashboard's live updates) —
// views only, never a secret.
import { FEED_LOST, type Authsome, type ConnectionView, type StoreChange } from '../broker/index.ts';

export type ChangeFeedState = 'listening' | 'connecting' | 'unavailable' | 'none';

/** A connection that changed: its new view, or `removed` with its name. */
export type ConnectionChange =
  | { kind: 'changed'; view: ConnectionView }
  | { kind: 'removed'; profile: string; provider: string; connection: string };

export interface StoreWatch {
  /** Connections as last seen, sorted by profile, provider, connection. */
  views(): ConnectionView[];
  feed(): ChangeFeedState;
  /**
   * The connections whose renew_from has come by `now`, as last seen; null while the view cannot be
   * trusted to be current (no working change feed, or not yet read), so the caller reads the store.
   */
  dueCandidates(now: number): ConnectionView[] | null;
  /** Settles once the first attempt to subscribe (and read every connection) is over, whatever its outcome. */
  ready(): Promise<void>;
  /** Re-reads every connection (on each scan while there is no working feed, and after a feed interruption). */
  reload(): Promise<void>;
  /** Calls listener for every change seen from now on; the result unsubscribes. */
  subscribe(listener: (change: ConnectionChange) => void): () => void;
  stop(): Promise<void>;
}

const RETRY_MS = 5000;

export function watchStore(authsome: Authsome, log: (line: string) => void): StoreWatch {
  const views = new Map<string, ConnectionView>();
  /**
   * Each view's renew_from in epoch ms (absent: never due), and the earliest of them, recomputed
   * only after a change: an idle scan of 10,000 connections none of which is due is one comparison,
   * not 10,000 date parses (issue 18: the scan's cost must not grow with connections not due). While
   * one is overdue (a renewal that keeps failing) each scan walks the numbers, still without parsing.
   */
  const renewAt = new Map<string, number>();
  let earliest: number | null = Infinity;
  const listeners = new Set<(change: ConnectionChange) => void>();
  let feed: ChangeFeedState = 'connecting';
  let unsubscribe: (() => Promise<void>) | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let lastProblem = '';
  /** Every connection has been read once since the feed started listening. */
  let loaded = false;

  const keyOf = (v: Pick<ConnectionView, 'profile' | 'provider' | 'connection'>) => `profile:${v.profile}:${v.provider}:connection:${v.connection}`;
  const same = (a: ConnectionView, b: ConnectionView) =>
    a.generation === b.generation && a.status === b.status && a.expires_at === b.expires_at && a.last_refresh_at === b.last_refresh_at;
  const emit = (change: ConnectionChange) => {
    for (const listener of listeners) listener(change);
  };

  /** Records what is now known of one key, telling subscribers when it differs from before. */
  const update = (key: string, view: ConnectionView | null) => {
    const before = views.get(key);
    // Reads of one key run concurrently and may finish out of order: an older generation never
    // replaces a newer one.
    if (view && before && view.generation < before.generation) return before;
    if (view) {
      views.set(key, view);
      const at = view.renew_from === null ? Number.NaN : Date.parse(view.renew_from);
      if (Number.isNaN(at)) renewAt.delete(key);
      else renewAt.set(key, at);
      earliest = null;
      if (!before || !same(before, view)) emit({ kind: 'changed', view });
    } else if (before) {
      views.delete(key);
      renewAt.delete(key);
      earliest = null;
      emit({ kind: 'removed', profile: before.profile, provider: before.provider, connection: before.connection });
    }
    return before;
  };

  const reload = async () => {
    try {
      const fresh = new Map((await authsome.connectionViews()).map((view) => [keyOf(view), view] as const));
      for (const key of [...views.keys()]) if (!fresh.has(key)) update(key, null);
      for (const [key, view] of fresh) update(key, view);
      lastProblem = '';
      return true;
    } catch (error) {
      const problem = (error as Error).message;
      if (problem !== lastProblem) log(`store: could not read connections: ${problem}`);
      lastProblem = problem;
      return false;
    }
  };

  const onChange = (change: StoreChange) => {
    if (change.profile === '*') {
      if (change.key === FEED_LOST.key) {
        feed = 'unavailable';
        loaded = false;
        log('store: change feed lost; reconnecting (connections as last seen meanwhile)');
        return;
      }
      feed = 'listening';
      loaded = false;
      log('store: change feed reconnected; reloading every connection');
      void reload().then((ok) => (loaded = ok && feed === 'listening'));
      return;
    }
    if (!/:connection:[^:]+$/.test(change.key)) return;
    void authsome.connectionViewOf(change.key).then(
      (view) => {
        const before = update(change.key, view);
        const [, , provider, , connection] = change.key.split(':');
        const what = view ? `${view.status}, generation ${view.generation}, expires ${view.expires_at ?? 'never'}` : 'removed';
        if (!before || !view || before.generation !== view.generation || before.status !== view.status) {
          log(`store: ${provider} (${connection}, profile ${change.profile}) changed: ${what}`);
        }
      },
      (error: Error) => log(`store: could not read ${change.key}: ${error.message}`),
    );
  };

  const subscribeToStore = async () => {
    try {
      unsubscribe = await authsome.watchStore(onChange);
      if (stopped) {
        await unsubscribe?.();
        return;
      }
      feed = unsubscribe ? 'listening' : 'none';
      if (unsubscribe) log(`store: listening for changes in ${authsome.storeLocation().location}`);
      // Changes made before LISTEN took effect are covered by reading everything once after it.
      loaded = (await reload()) && feed === 'listening';
    } catch (error) {
      if (stopped) return;
      feed = 'unavailable';
      log(`store: change feed unavailable (${(error as Error).message}); trying again in ${RETRY_MS / 1000} s`);
      retry = setTimeout(() => void subscribeToStore(), RETRY_MS);
      retry.unref();
    }
  };
  const firstLook = subscribeToStore();

  return {
    views: () => [...views.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b))),
    feed: () => feed,
    dueCandidates(now) {
      if (feed !== 'listening' || !loaded) return null;
      if (earliest === null) {
        earliest = Infinity;
        for (const at of renewAt.values()) if (at < earliest) earliest = at;
      }
      if (earliest > now) return [];
      const due: ConnectionView[] = [];
      for (const [key, at] of renewAt) if (at <= now) due.push(views.get(key)!);
      return due;
    },
    reload: async () => void (await reload()),
    ready: () => firstLook,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      listeners.clear();
      await unsubscribe?.();
    },
  };
}
