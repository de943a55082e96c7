// The change feed of a PostgreSQL store: one dedicated connection (never a pooled one, which
// would lose its LISTEN when returned) that LISTENs on the channel the kv trigger notifies.
// When the connection breaks it reconnects with backoff and reports RESYNC, because
// notifications sent while it was away are lost (PostgreSQL keeps none for absent listeners).
import type { Client } from 'pg';
import { CHANGES_CHANNEL, connectionOptions, loadPg, pgError } from './pg-pool.ts';
import { FEED_LOST, RESYNC, type StoreChange } from './store.ts';

const MAX_BACKOFF_MS = 5000;
const PING_MS = 30_000;

/** Resolves once LISTEN is active (rejects when the first connection fails); the result stops it. */
export async function watchChanges(url: string, listener: (change: StoreChange) => void): Promise<() => Promise<void>> {
  const pg = await loadPg();
  let client: Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;

  const connect = async (): Promise<void> => {
    // TCP keepalive after 10 s idle, so a path that silently drops idle flows (NAT, firewall) is noticed.
    const next = new pg.Client({ ...connectionOptions(url), keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    next.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
      try {
        const change = JSON.parse(message.payload) as StoreChange;
        if (typeof change.profile === 'string' && typeof change.key === 'string') listener(change);
      } catch {
        // Not ours (someone NOTIFYing by hand): ignore it.
      }
    });
    // A restart or a dropped network ends the connection: 'error' and/or 'end' follow.
    next.on('error', () => lost(next));
    next.on('end', () => lost(next));
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      next.removeAllListeners('end');
      await next.end().catch(() => undefined);
      throw pgError(url, error, ' (listening for changes)');
    }
    if (stopped) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
  };


  const lost = (which: Client) => {
    if (client !== which || stopped) return;
    client = null;
    void which.end().catch(() => undefined);
    listener(FEED_LOST);
    schedule();
  };

  const schedule = () => {
    if (stopped || retry) return;
    const wait = Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures);
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => {
          failures = 0;
          if (!stopped) listener(RESYNC);
        },
        () => {
          failures += 1;
          schedule();
        },
      );
    }, wait);
  };

  await connect();
  // A query now and then: a connection that died without a word fails it and is replaced.
  const ping = setInterval(() => {
    const current = client;
    if (current) current.query('SELECT 1').catch(() => lost(current));
  }, PING_MS);
  ping.unref();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    clearInterval(ping);
    const current = client;
    client = null;
    await current?.end().catch(() => undefined);
  };
}
