// Shared by every OAuth step the broker takes: a transport wired to the debug log and the
// redactor, the provider's authorization server, and the client it logs in as.
import { redactor } from '../audit/index.ts';
import { OAuthTransport, resolveServer, type ResolvedServer } from '../oauth/index.ts';
import type { ProviderDefinition, UrlValues } from '../providers/index.ts';
import type { Environment } from '../util/index.ts';
import { keys, type ClientRecord } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { isReservedVariable } from './reserved-variables.ts';
import { storedTenant } from './tenant.ts';

export function transportFor(ctx: BrokerContext, definition: ProviderDefinition): OAuthTransport {
  return new OAuthTransport(definition, {
    log: (message, fields) => ctx.log.record(message, fields),
    timeoutMs: ctx.settings.refreshTimeoutMs,
    onSecret: (value) => redactor.register(value),
    redact: (text) => redactor.redact(text),
  });
}

/** The provider's authorization server at a connection's or login's base URL and tenant. */
export async function serverFor(ctx: BrokerContext, definition: ProviderDefinition, values: UrlValues, transport: OAuthTransport): Promise<ResolvedServer> {
  const server = await resolveServer(definition, values, transport);
  ctx.log.record(`authorization server of ${definition.name}`, {
    issuer: server.as.issuer, issuer_verified: server.issuerVerified, token_endpoint: server.as.token_endpoint ?? null,
    ...(server.refreshEndpoint ? { refresh_endpoint: server.refreshEndpoint } : {}),
  });
  return server;
}

export type ClientSource = 'env' | 'form' | 'dcr_generated' | 'stored';

export interface ClientChoice {
  client_id: string;
  client_secret: string | null;
  base_url: string | null;
  /** The `{tenant}` the client was last used with (its app registration's directory), when the definition has one. */
  tenant: string | null;
  source: ClientSource;
  /** The stored client record, when the credentials came from one. */
  record: ClientRecord | null;
  /** token_endpoint_auth_method as the server registered it (RFC 7591 clients only). */
  registered_auth_method?: string | null;
}

/** The method a dynamically registered client was registered with, kept in its record's metadata. */
function registeredMethodOf(record: ClientRecord): string | null {
  const method = record.metadata?.token_endpoint_auth_method;
  return record.metadata?.source === 'dcr_generated' && typeof method === 'string' ? method : null;
}

export async function readClientRecord(ctx: BrokerContext, provider: string, profile = ctx.profile): Promise<ClientRecord | null> {
  return ctx.vault.read(profile, 'client', keys.client(profile, provider));
}

/** Client credentials from the provider's env vars (client.client_id_env / client_secret_env). */
export function clientFromEnv(definition: ProviderDefinition, env: Environment): { client_id: string; client_secret: string | null } | null {
  // The definition names the variables, and what they hold goes to its token endpoint: never one
  // of authsome's own (AUTHSOME_MASTER_KEY, AUTHSOME_PASSPHRASE) or another reserved variable.
  const readable = (name: string | null | undefined) => (name && !isReservedVariable(name) ? name : null);
  const idVar = readable(definition.client?.client_id_env);
  const clientId = idVar ? env[idVar]?.trim() : undefined;
  if (!clientId) return null;
  const secretVar = readable(definition.client?.client_secret_env);
  const secret = secretVar ? env[secretVar]?.trim() || null : null;
  if (secret) redactor.register(secret);
  return { client_id: clientId, client_secret: secret };
}

/**
 * The OAuth client of a profile's provider. A login takes the environment first (the operator's
 * current choice); a refresh takes the stored client first — the one the grant was issued to —
 * because the environment may be another process's (the daemon's is frozen at its start).
 */
export async function knownClient(ctx: BrokerContext, definition: ProviderDefinition, options: { profile?: string; preferStored?: boolean } = {}): Promise<ClientChoice | null> {
  const record = await readClientRecord(ctx, definition.name, options.profile ?? ctx.profile);
  const fromEnv = clientFromEnv(definition, ctx.env);
  // A client the provider rejected (invalid_client) is never presented again: the next login asks
  // for fresh credentials instead of failing the same way.
  const stored: ClientChoice | null = record?.client_id && !isRejectedClient(record)
    ? { client_id: record.client_id, client_secret: record.client_secret, base_url: record.base_url, tenant: storedTenant(record), source: 'stored', record, registered_auth_method: registeredMethodOf(record) }
    : null;
  if (options.preferStored && stored) return stored;
  if (fromEnv) return { ...fromEnv, base_url: record?.base_url ?? null, tenant: storedTenant(record), source: 'env', record };
  return stored;
}

/** The stored client was refused by the provider (invalid_client at an exchange or a refresh). */
export function isRejectedClient(record: ClientRecord): boolean {
  return typeof record.metadata?.rejected_at === 'string';
}

/** The client record as the provider's rejection leaves it: kept (never deleted), marked. */
export function markClientRejected(record: ClientRecord, error: string, at: string): ClientRecord {
  return { ...record, metadata: { ...record.metadata, rejected_at: at, rejected_error: error } };
}

/** Metadata for a client record being written anew: an earlier rejection no longer applies. */
export function withoutRejection(metadata: Record<string, unknown>): Record<string, unknown> {
  const { rejected_at: _at, rejected_error: _error, ...rest } = metadata;
  return rest;
}

/** The same client credentials (id and secret): a corrected secret stored meanwhile is another client. */
export function isSameClient(record: ClientRecord, choice: { client_id: string; client_secret: string | null }): boolean {
  return record.client_id === choice.client_id && (record.client_secret ?? null) === (choice.client_secret ?? null);
}
