// Proactive refresh: the daemon renews connections a little before they fall due, so the agents
// calling `get` rarely wait for a token endpoint. It goes through the broker's refresh protocol,
// lease included, so it never races a foreground caller.
import type { Authsome } from '../broker/index.ts';

export interface BackgroundRefreshOptions {
  authsome: Authsome;
  /** How often to look for connections that fall due. */
  intervalMs: number;
  /** How far ahead of the refresh window to renew. */
  lookaheadMs: number;
  log: (line: string) => void;
  /**
   * The connections that may be due now, from a view the change feed keeps current; null: read the
   * whole store (no such view yet). With it, a scan costs what is due, not what is stored.
   */
  candidates?: () => Promise<ReadonlyArray<{ profile: string; provider: string; connection: string }> | null>;
  /** Runs after each scan (the daemon refreshes its in-memory view there when it has no change feed). */
  afterTick?: () => Promise<void>;
}

export function startBackgroundRefresh({ authsome, intervalMs, lookaheadMs, log, afterTick, candidates }: BackgroundRefreshOptions): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let lastProblem = '';
  const tick = async () => {
    try {
      const outcomes = await authsome.refreshDue({ lookaheadMs, candidates: (await candidates?.()) ?? undefined });
      for (const o of outcomes) if (o.outcome !== 'already fresh') log(`background refresh ${o.provider} (${o.connection}, profile ${o.profile}): ${o.outcome}`);
      lastProblem = '';
    } catch (error) {
      // A store the daemon cannot open (no master key in its environment) is logged once, not every tick.
      const problem = (error as Error).message;
      if (problem !== lastProblem) log(`background refresh skipped: ${problem}`);
      lastProblem = problem;
    }
    await afterTick?.().catch(() => undefined);
  };
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(tick);
  }, intervalMs);
  timer.unref();
  running = running.then(tick);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
