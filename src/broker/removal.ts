// logout (one connection), revoke (every connection and the OAuth client of a provider) and
// remove (revoke, then delete a custom definition). Remote revocation arrives with the OAuth flows.
import { AuthsomeError } from '../util/index.ts';
import { keys } from '../vault/index.ts';
import { DEFAULT_CONNECTION, removeConnectionFromMetadata, resolveConnectionName } from './connections.ts';
import type { BrokerContext } from './context.ts';

export interface RemovalResult {
  provider: string;
  profile: string;
  /** Connection names removed. */
  connections: string[];
  /** Whether an OAuth client record was removed. */
  client: boolean;
  /** remove only: whether a custom definition file was deleted. */
  definition?: boolean;
}

export async function logout(ctx: BrokerContext, provider: string, connection?: string): Promise<RemovalResult> {
  const profile = ctx.requireProfileForRead();
  const name = await resolveConnectionName(ctx, provider, connection);
  const key = keys.connection(profile, provider, name);
  const removed = await ctx.vault.transaction(profile, async (tx) => {
    if (!(await tx.delete(key))) return false;
    await removeConnectionFromMetadata(tx, profile, provider, name);
    return true;
  });
  if (!removed) {
    throw new AuthsomeError('credential_missing', `no connection "${name}" for ${provider} in profile "${profile}"; nothing was removed`, {
      hint: 'See what exists with `authsome list`.',
      provider,
      connection: name,
    });
  }
  ctx.auditEvent('logout', { provider, connection: name, status: 'success' });
  return { provider, profile, connections: [name], client: false };
}

export async function revoke(ctx: BrokerContext, provider: string): Promise<RemovalResult> {
  const profile = ctx.requireProfileForRead();
  const prefix = keys.providerPrefix(profile, provider);
  const result = await ctx.vault.transaction(profile, async (tx) => {
    const connections: string[] = [];
    let client = false;
    for (const key of await tx.keys(prefix)) {
      const rest = key.slice(prefix.length);
      if (rest.startsWith('connection:')) connections.push(rest.slice('connection:'.length));
      if (rest === 'client') client = true;
      await tx.delete(key);
    }
    return { connections, client };
  });
  ctx.auditEvent('revoke', { provider, connections: result.connections, status: 'success' });
  return { provider, profile, ...result };
}

export async function removeProvider(ctx: BrokerContext, provider: string): Promise<RemovalResult> {
  const entry = await ctx.registry.get(provider).catch(() => null);
  const hadFile = ctx.registry.removeCustom(provider);
  const result = await revoke(ctx, provider);
  if (!entry && !hadFile && result.connections.length === 0 && !result.client) {
    throw new AuthsomeError('provider_not_found', `provider "${provider}" was not found`, {
      hint: 'Run `authsome list` to see known providers.',
      provider,
    });
  }
  ctx.auditEvent('remove', { provider, definition: hadFile ? 'deleted' : undefined, status: 'success' });
  return { ...result, definition: hadFile };
}

export async function setDefaultConnection(ctx: BrokerContext, provider: string, connection: string): Promise<void> {
  const profile = ctx.requireProfileForRead();
  await ctx.vault.transaction(profile, async (tx) => {
    if (!(await tx.read('connection', keys.connection(profile, provider, connection)))) {
      throw new AuthsomeError('credential_missing', `no connection "${connection}" for ${provider} in profile "${profile}"`, {
        hint: `Log in first: authsome login ${provider}${connection === DEFAULT_CONNECTION ? '' : ` --connection ${connection}`}`,
        provider,
        connection,
      });
    }
    const key = keys.metadata(profile, provider);
    const metadata = await tx.read('metadata', key);
    const names = metadata?.connection_names ?? [];
    await tx.write('metadata', key, {
      schema_version: 2,
      profile,
      provider,
      last_used_connection: null,
      metadata: {},
      ...(metadata ?? {}),
      connection_names: names.includes(connection) ? names : [...names, connection],
      default_connection: connection,
    });
  });
  ctx.auditEvent('set_default', { provider, connection, status: 'success' });
}
