// Records a provider name still holds in the store: connections and an OAuth client, in any
// profile (a shared PostgreSQL store holds other machines' profiles too). A name that holds them
// is taken even when its definition is gone, because whoever defines it next decides where those
// refresh tokens and that client secret are sent (issue 14: orphaned records).
import { AuthsomeError } from '../util/index.ts';
import { keys } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';

export interface HeldRecords {
  profile: string;
  connections: string[];
  client: boolean;
}

export async function heldRecords(ctx: BrokerContext, provider: string): Promise<HeldRecords[]> {
  const held: HeldRecords[] = [];
  for (const profile of await ctx.vault.backend().profiles()) {
    const prefix = keys.providerPrefix(profile, provider);
    const found = (await ctx.vault.store(profile).list(prefix)).map((entry) => entry.key.slice(prefix.length));
    const connections = found.filter((rest) => rest.startsWith('connection:')).map((rest) => rest.slice('connection:'.length));
    const client = found.includes('client');
    if (connections.length > 0 || client) held.push({ profile, connections, client });
  }
  return held;
}

/**
 * Refuses (conflict) to give `provider` a new definition while records for it are stored.
 * `forceHint` says how to do it anyway where that is offered (a terminal's `register --force`).
 */
export async function refuseIfHeld(ctx: BrokerContext, provider: string, forceHint: string | null): Promise<void> {
  const held = await heldRecords(ctx, provider);
  if (held.length === 0) return;
  const where = held.map((h) => `profile "${h.profile}" (${[...h.connections.map((c) => `connection ${c}`), ...(h.client ? ['OAuth client'] : [])].join(', ')})`).join(' and ');
  const removals = held.map((h) => `authsome remove ${provider}${h.profile === 'default' ? '' : ` --profile ${h.profile}`}`).join('; ');
  throw new AuthsomeError('conflict', `"${provider}" still has stored records in ${where} from a definition that is no longer registered; a new definition would receive their refresh tokens and client secret, so nothing was registered`, {
    hint: `Remove them first: ${removals}.${forceHint ? ` ${forceHint}` : ''}`,
    provider,
  });
}
