// logout (one connection), revoke (every connection and the OAuth client of a provider) and
// remove (everything the profile holds for a provider). OAuth tokens are revoked at the provider
// first (RFC 7009), while its definition is known; the local removal happens whatever the provider
// answers. Definitions are never touched here: deleting a custom one is unregister.ts's job.
import { AuthsomeError, isAuthsomeError, requireName } from '../util/index.ts';
import { keys, type ConnectionRecord } from '../vault/index.ts';
import { DEFAULT_CONNECTION, removeConnectionFromMetadata, resolveConnectionName } from './connections.ts';
import type { BrokerContext } from './context.ts';
import { revokeRemotely, type RemoteRevocation } from './remote-revocation.ts';

export interface RemovalResult {
  provider: string;
  profile: string;
  /** Connection names removed. */
  connections: string[];
  /** Whether an OAuth client record was removed. */
  client: boolean;
  /** What the provider said, per connection name. */
  remote: Record<string, RemoteRevocation>;
}

export async function logout(ctx: BrokerContext, provider: string, connection?: string): Promise<RemovalResult> {
  const profile = ctx.requireProfileForRead();
  const name = await resolveConnectionName(ctx, provider, connection);
  const key = keys.connection(profile, provider, name);
  const record = await readForRevocation(ctx, profile, key);
  const remote = record ? { [name]: await revokeRemotely(ctx, record) } : {};
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
  ctx.auditEvent('logout', { provider, connection: name, remote_revocation: remote[name]?.status, status: 'success' });
  return { provider, profile, connections: [name], client: false, remote };
}

export async function revoke(ctx: BrokerContext, provider: string): Promise<RemovalResult> {
  const { records: _records, ...result } = await revokeAndForget(ctx, provider);
  ctx.auditEvent('revoke', { provider, connections: result.connections, remote_revocation: remoteStatuses(result), status: 'success' });
  return result;
}

/**
 * Deletes the profile's state for a provider: its connections (revoked at the provider first),
 * the stored OAuth client, metadata and refresh state — so the next login starts afresh and asks
 * for a client again. The definition, bundled or custom, stays.
 */
export async function removeProvider(ctx: BrokerContext, provider: string): Promise<RemovalResult> {
  requireName('provider', provider);
  const known = (await ctx.registry.get(provider).catch(() => null)) !== null;
  const { records, ...result } = await revokeAndForget(ctx, provider);
  if (!known && records === 0) {
    throw new AuthsomeError('provider_not_found', `provider "${provider}" was not found`, {
      hint: 'Run `authsome list` to see known providers.',
      provider,
    });
  }
  ctx.auditEvent('remove', { provider, connections: result.connections, client: result.client, remote_revocation: remoteStatuses(result), status: 'success' });
  return result;
}

/** Revokes every connection remotely, then deletes every record under profile:<p>:<provider>:. */
async function revokeAndForget(ctx: BrokerContext, provider: string): Promise<RemovalResult & { records: number }> {
  requireName('provider', provider);
  const profile = ctx.requireProfileForRead();
  const prefix = keys.providerPrefix(profile, provider);
  const remote: Record<string, RemoteRevocation> = {};
  for (const { key } of await ctx.vault.store(profile).list(prefix + 'connection:')) {
    const record = await readForRevocation(ctx, profile, key);
    if (record) remote[record.connection_name] = await revokeRemotely(ctx, record);
  }
  const result = await ctx.vault.transaction(profile, async (tx) => {
    const connections: string[] = [];
    let client = false;
    let records = 0;
    for (const key of await tx.keys(prefix)) {
      const rest = key.slice(prefix.length);
      if (rest.startsWith('connection:')) connections.push(rest.slice('connection:'.length));
      if (rest === 'client') client = true;
      await tx.delete(key);
      records += 1;
    }
    return { connections, client, records };
  });
  return { provider, profile, ...result, remote };
}

function remoteStatuses(result: RemovalResult): Record<string, RemoteRevocation['status']> {
  return Object.fromEntries(Object.entries(result.remote).map(([name, r]) => [name, r.status]));
}

export async function setDefaultConnection(ctx: BrokerContext, provider: string, connection: string): Promise<void> {
  requireName('provider', provider);
  requireName('connection', connection);
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

/** The record to revoke remotely; a damaged one is still removed locally, just not revoked. */
async function readForRevocation(ctx: BrokerContext, profile: string, key: string): Promise<ConnectionRecord | null> {
  try {
    return await ctx.vault.read(profile, 'connection', key);
  } catch (error) {
    if (isAuthsomeError(error) && error.code === 'record_malformed') return null;
    throw error;
  }
}
