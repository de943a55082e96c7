// The daemon's background refresher: every OAuth connection of every profile that falls due soon
// is renewed through the same protocol (and lease) as a foreground caller, so the two never race.
import { toAuthsomeError } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { ensureFresh } from './refresh.ts';
import { canRenew, isDue, isRejected } from './refresh-policy.ts';

export async function refreshDue(ctx: BrokerContext, lookaheadMs: number): Promise<Array<{ profile: string; provider: string; connection: string; outcome: string }>> {
  const outcomes: Array<{ profile: string; provider: string; connection: string; outcome: string }> = [];
  for (const profile of await ctx.vault.profiles()) {
    const { records } = await ctx.vault.list(profile, `profile:${profile}:`);
    for (const { record, parsed } of records) {
      if (parsed.kind !== 'connection') continue;
      const connection = record as ConnectionRecord;
      // Rejected connections wait for a person; an `expired` one (transient failure) is retried.
      if (isRejected(connection) || !canRenew(connection)) continue;
      if (!isDue(connection, Date.now(), lookaheadMs)) continue;
      const where = { profile, provider: connection.provider, connection: connection.connection_name };
      try {
        const result = await ensureFresh(ctx, connection, { lookaheadMs });
        outcomes.push({ ...where, outcome: result.warning ? 'failed, token still valid' : result.refreshed ? 'refreshed' : 'already fresh' });
      } catch (error) {
        outcomes.push({ ...where, outcome: `failed: ${toAuthsomeError(error).message}` });
      }
    }
  }
  return outcomes;
}
