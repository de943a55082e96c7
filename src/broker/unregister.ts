// unregister: deletes a custom provider definition from <home>/providers/. It refuses while any
// profile of the store still holds connections for the provider, since without their definition
// those credentials can no longer be used, refreshed or revoked (or would go to the endpoints and
// hosts of the bundled definition it overrode); `remove` them first, or pass force.
import { AuthsomeError } from '../util/index.ts';
import { keys } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';

export interface UnregisterResult {
  provider: string;
  /** The definition files deleted from <home>/providers/. */
  deleted: string[];
  /** The custom file overrode a bundled provider, whose shipped definition applies again. */
  bundled_restored: boolean;
  /** Connections left behind (only with force), per profile. */
  remaining: ProfileConnections[];
}

export interface ProfileConnections {
  profile: string;
  connections: string[];
}

export async function unregisterProvider(ctx: BrokerContext, provider: string, options: { force?: boolean } = {}): Promise<UnregisterResult> {
  const bundled = ctx.registry.isBundled(provider);
  if (ctx.registry.customFiles(provider).length === 0) {
    if (bundled) {
      throw new AuthsomeError('input_invalid', `${provider} is a bundled provider; only custom definitions can be unregistered`, {
        hint: `To delete its connections and stored client in this profile instead: authsome remove ${provider}`,
        provider,
      });
    }
    throw new AuthsomeError('provider_not_found', `no custom definition of "${provider}" in ${ctx.home.providersDir}`, {
      hint: 'Run `authsome list` to see known providers.',
      provider,
    });
  }
  const remaining = await connectionsOf(ctx, provider);
  if (remaining.length > 0 && !options.force) {
    const where = remaining.map((p) => `profile "${p.profile}" (${p.connections.join(', ')})`).join(' and ');
    const consequence = bundled
      ? 'they would then be used through the bundled definition (its endpoints and hosts) instead'
      : 'without the definition they can no longer be used, refreshed or revoked at the provider';
    throw new AuthsomeError('conflict', `${provider} still has connections in ${where}; ${consequence}, so the definition was not deleted`, {
      hint: `Remove them first: ${remaining.map((p) => `authsome remove ${provider} --profile ${p.profile}`).join('; ')}. Or delete the definition anyway: authsome unregister ${provider} --force`,
      provider,
    });
  }
  const deleted = ctx.registry.removeCustom(provider);
  ctx.auditEvent('unregister', {
    provider, bundled_restored: bundled, force: options.force ?? false,
    connections_left: remaining.reduce((n, p) => n + p.connections.length, 0), status: 'success',
  });
  return { provider, deleted, bundled_restored: bundled, remaining };
}

/** Every profile of the store (a shared PostgreSQL one holds other machines' too) with connections for provider. */
async function connectionsOf(ctx: BrokerContext, provider: string): Promise<ProfileConnections[]> {
  const found: ProfileConnections[] = [];
  for (const profile of await ctx.vault.backend().profiles()) {
    const prefix = keys.providerPrefix(profile, provider) + 'connection:';
    const entries = await ctx.vault.store(profile).list(prefix);
    if (entries.length > 0) found.push({ profile, connections: entries.map((e) => e.key.slice(prefix.length)) });
  }
  return found;
}
