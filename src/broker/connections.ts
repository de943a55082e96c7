// Reading connections and keeping the per-provider metadata record (connection_names,
// default_connection, last_used_connection) consistent, as the Python implementation does.
import { AuthsomeError, maskSecret, requireName } from '../util/index.ts';
import { keys, orderRecord, type ConnectionRecord, type ProviderMetadataRecord, type VaultTransaction } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';

export const DEFAULT_CONNECTION = 'default';

/** Picks the connection a command means: the named one, else the provider's default. */
export async function resolveConnectionName(ctx: BrokerContext, provider: string, connection?: string): Promise<string> {
  // Every door (CLI, library, dashboard, socket API) reads through here: names are checked before any key is built.
  requireName('provider', provider);
  if (connection) return requireName('connection', connection);
  const metadata = await ctx.vault.read(ctx.profile, 'metadata', keys.metadata(ctx.profile, provider));
  return metadata?.default_connection || DEFAULT_CONNECTION;
}

/** The connection record, or a credential_missing error that names the command to fix it. */
export async function requireConnection(ctx: BrokerContext, provider: string, connection?: string): Promise<ConnectionRecord> {
  const profile = ctx.requireProfileForRead();
  const name = await resolveConnectionName(ctx, provider, connection);
  const key = keys.connection(profile, provider, name);
  const record = await ctx.vault.read(profile, 'connection', key);
  // Masked, not raw: the redactor is the safety net under every sink, not a reason to hand it secrets.
  ctx.log.debug(record ? `read ${key}` : `no record at ${key}`, record ? { status: record.status, auth_type: record.auth_type, credential: maskSecret(record.api_key ?? record.access_token) } : undefined);
  if (record) return record;
  const known = await ctx.registry.get(provider);
  if (!known && !(await hasAnyRecord(ctx, provider))) {
    throw new AuthsomeError('provider_not_found', `provider "${provider}" was not found`, {
      hint: 'Run `authsome list` to see known providers, or `authsome register <file>` to add one.',
      provider,
    });
  }
  const loginCommand = `authsome login ${provider}${name === DEFAULT_CONNECTION ? '' : ` --connection ${name}`}${profile === 'default' ? '' : ` --profile ${profile}`}`;
  throw new AuthsomeError('credential_missing', `no connection "${name}" for ${provider} in profile "${profile}"`, {
    hint: `Log in with: ${loginCommand}`,
    provider,
    connection: name,
  });
}

async function hasAnyRecord(ctx: BrokerContext, provider: string): Promise<boolean> {
  return (await ctx.vault.store(ctx.profile).list(keys.providerPrefix(ctx.profile, provider))).length > 0;
}

/** Adds a connection name to the metadata record; the first connection becomes the default. */
export async function addConnectionToMetadata(tx: VaultTransaction, profile: string, provider: string, connection: string): Promise<void> {
  const key = keys.metadata(profile, provider);
  const existing = await tx.read('metadata', key);
  const metadata: ProviderMetadataRecord =
    existing ?? orderRecord('metadata', { profile, provider, default_connection: null, connection_names: [], last_used_connection: null, metadata: {} });
  const names = metadata.connection_names.includes(connection) ? metadata.connection_names : [...metadata.connection_names, connection];
  await tx.write('metadata', key, {
    ...metadata,
    connection_names: names,
    default_connection: metadata.default_connection ?? connection,
    last_used_connection: connection,
  });
}

/** Removes a connection name; the default moves to the first remaining one, and an empty record goes. */
export async function removeConnectionFromMetadata(tx: VaultTransaction, profile: string, provider: string, connection: string): Promise<void> {
  const key = keys.metadata(profile, provider);
  const metadata = await tx.read('metadata', key);
  if (!metadata) return;
  const names = metadata.connection_names.filter((name) => name !== connection);
  if (names.length === 0) {
    await tx.delete(key);
    return;
  }
  await tx.write('metadata', key, {
    ...metadata,
    connection_names: names,
    default_connection: metadata.default_connection === connection ? names[0]! : metadata.default_connection,
    last_used_connection: metadata.last_used_connection === connection ? null : metadata.last_used_connection,
  });
}
