// The daemon's background refresher: every OAuth connection of every profile that falls due soon
// is renewed through the same protocol (and lease) as a foreground caller, so the two never race.
import { toAuthsomeError } from '../util/index.ts';
import { keys, type ConnectionRecord } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { ensureFresh } from './refresh.ts';
import { canRenew, isDue, isRejected } from './refresh-policy.ts';

export interface RefreshOutcome {
  profile: string;
  provider: string;
  connection: string;
  outcome: string;
}

/** A connection to look at, by name (a ConnectionView is one). */
export interface ConnectionName {
  profile: string;
  provider: string;
  connection: string;
}

/**
 * Renews what falls due within lookaheadMs. Without `candidates`, every record of every profile is
 * read; with them (a door that keeps each connection's renew_from current), only those are: a scan
 * then costs what is due, not what is stored (issue 18). Each is checked again on its fresh record.
 */
export async function refreshDue(ctx: BrokerContext, lookaheadMs: number, candidates?: readonly ConnectionName[]): Promise<RefreshOutcome[]> {
  const outcomes: RefreshOutcome[] = [];
  const consider = async (connection: ConnectionRecord, profile: string) => {
    // Rejected connections wait for a person; an `expired` one (transient failure) is retried.
    if (isRejected(connection) || !canRenew(connection)) return;
    if (!isDue(connection, Date.now(), lookaheadMs)) return;
    const where = { profile, provider: connection.provider, connection: connection.connection_name };
    try {
      const result = await ensureFresh(ctx, connection, { lookaheadMs });
      outcomes.push({ ...where, outcome: result.warning ? 'failed, token still valid' : result.refreshed ? 'refreshed' : 'already fresh' });
    } catch (error) {
      outcomes.push({ ...where, outcome: `failed: ${toAuthsomeError(error).message}` });
    }
  };
  if (candidates) {
    for (const { profile, provider, connection } of candidates) {
      const record = await ctx.vault.read(profile, 'connection', keys.connection(profile, provider, connection));
      if (record) await consider(record, profile);
    }
    return outcomes;
  }
  for (const profile of await ctx.vault.profiles()) {
    const { records } = await ctx.vault.list(profile, keys.profilePrefix(profile));
    for (const { record, parsed } of records) if (parsed.kind === 'connection') await consider(record as ConnectionRecord, profile);
  }
  return outcomes;
}
