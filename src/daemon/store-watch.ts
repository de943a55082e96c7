// The daemon's in-memory view of every connection, kept current by the store's change feed: on a
// shared PostgreSQL store a refresh, login or logout on another machine reaches this daemon as a
// NOTIFY within milliseconds, without rescanning the store. SQLite has no feed; there the view is
// reloaded on each background-refresh tick instead.
import type { Authsome, ConnectionView, StoreChange } from '../broker/index.ts';

export type ChangeFeedState = 'listening' | 'connecting' | 'unavailable' | 'none';

export interface StoreWatch {
  /** Connections as last seen, sorted by profile, provider, connection. */
  views(): ConnectionView[];
  feed(): ChangeFeedState;
  /** Re-reads every connection (the SQLite fallback, and after a feed interruption). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

const RETRY_MS = 5000;

export function watchStore(authsome: Authsome, log: (line: string) => void): StoreWatch {
  const views = new Map<string, ConnectionView>();
  let feed: ChangeFeedState = 'connecting';
  let unsubscribe: (() => Promise<void>) | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let lastProblem = '';

  const keyOf = (v: Pick<ConnectionView, 'profile' | 'provider' | 'connection'>) => `profile:${v.profile}:${v.provider}:connection:${v.connection}`;

  const reload = async () => {
    try {
      const fresh = await authsome.connectionViews();
      views.clear();
      for (const view of fresh) views.set(keyOf(view), view);
      lastProblem = '';
    } catch (error) {
      const problem = (error as Error).message;
      if (problem !== lastProblem) log(`store: could not read connections: ${problem}`);
      lastProblem = problem;
    }
  };

  const onChange = (change: StoreChange) => {
    if (change.profile === '*') {
      log('store: change feed reconnected; reloading every connection');
      void reload();
      return;
    }
    if (!/:connection:[^:]+$/.test(change.key)) return;
    void authsome.connectionViewOf(change.key).then(
      (view) => {
        const before = views.get(change.key);
        if (view) views.set(change.key, view);
        else views.delete(change.key);
        const what = view ? `${view.status}, generation ${view.generation}, expires ${view.expires_at ?? 'never'}` : 'removed';
        if (!before || !view || before.generation !== view.generation || before.status !== view.status) {
          log(`store: ${change.key.split(':').slice(2, 3)[0]} (${change.key.split(':').at(-1)}, profile ${change.profile}) changed: ${what}`);
        }
      },
      (error: Error) => log(`store: could not read ${change.key}: ${error.message}`),
    );
  };

  const subscribe = async () => {
    try {
      unsubscribe = await authsome.watchStore(onChange);
      if (stopped) {
        await unsubscribe?.();
        return;
      }
      feed = unsubscribe ? 'listening' : 'none';
      if (unsubscribe) log(`store: listening for changes in ${authsome.storeLocation().location}`);
      // Changes made before LISTEN took effect are covered by reading everything once after it.
      await reload();
    } catch (error) {
      feed = 'unavailable';
      log(`store: change feed unavailable (${(error as Error).message}); trying again in ${RETRY_MS / 1000} s`);
      retry = setTimeout(() => void subscribe(), RETRY_MS);
      retry.unref();
    }
  };
  void subscribe();

  return {
    views: () => [...views.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b))),
    feed: () => feed,
    reload,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await unsubscribe?.();
    },
  };
}
