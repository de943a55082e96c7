// Handing credentials out: a connection's record with secrets masked (or revealed on request),
// single fields for scripts, and the HTTP headers an agent should send.
import { AuthsomeError, credentialProblem, maskSecret } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import type { ProviderDefinition } from '../providers/index.ts';
import { fillTemplate, storedParts } from './api-key-parts.ts';
import { connectionState } from './connection-state.ts';

export const SECRET_FIELDS = ['access_token', 'refresh_token', 'api_key'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

export function isSecretField(field: string): field is SecretField {
  return (SECRET_FIELDS as readonly string[]).includes(field);
}

/** A field whose value `get --show-secret` reveals: a secret field, or a part of a several-part credential. */
export function revealsSecret(record: ConnectionRecord, field: string): boolean {
  return isSecretField(field) || field === 'api_key_fields' || (!(field in record) && field in storedParts(record));
}

/** The record as `get --json` prints it: secrets masked to a prefix unless showSecrets. */
export function presentConnection(record: ConnectionRecord, showSecrets = false): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...record, status: connectionState(record) };
  if (!showSecrets) {
    for (const field of SECRET_FIELDS) shown[field] = maskSecret(record[field]);
    // The record does not say which parts are secret (the definition does): every part is masked.
    const parts = storedParts(record);
    if (Object.keys(parts).length) shown.api_key_fields = Object.fromEntries(Object.entries(parts).map(([name, value]) => [name, maskSecret(value)]));
  }
  return shown;
}

/** Fields `get --field` accepts besides the record's own. */
const DERIVED_FIELDS: Record<string, (record: ConnectionRecord) => unknown> = {
  status: (record) => connectionState(record),
  stored_status: (record) => record.status,
  connection: (record) => record.connection_name,
  account_id: (record) => record.account?.id ?? null,
  account_label: (record) => record.account?.label ?? null,
  last_refresh_at: (record) => (record.metadata?.last_refresh_at as string | undefined) ?? null,
  last_refresh_error: (record) => (record.metadata?.last_refresh_error as string | undefined) ?? null,
  // Only in records whose refresh token has a known end: an empty line otherwise, not an error.
  refresh_expires_at: (record) => (record.refresh_expires_at as string | undefined) ?? null,
};

export function connectionField(record: ConnectionRecord, field: string, showSecret: boolean): unknown {
  if (field in DERIVED_FIELDS) return DERIVED_FIELDS[field]!(record);
  const parts = storedParts(record);
  // A part of a several-part credential by its name (get twilio --field account_sid); masked like a secret.
  if (!(field in record) && field in parts) return showSecret ? parts[field] : maskSecret(parts[field]!);
  if (!(field in record)) {
    const fields = [...new Set([...Object.keys(record), ...Object.keys(parts), ...Object.keys(DERIVED_FIELDS)])].sort().join(', ');
    throw new AuthsomeError('input_invalid', `a connection has no field "${field}"`, { hint: `Fields: ${fields}` });
  }
  const value = record[field];
  if (isSecretField(field) && !showSecret) return maskSecret(value as string | null);
  if (field === 'api_key_fields' && !showSecret) return Object.fromEntries(Object.entries(parts).map(([name, part]) => [name, maskSecret(part)]));
  return value;
}

/** The credential value a request needs: the API key or the access token. */
export function credentialValue(record: ConnectionRecord): string | null {
  return record.auth_type === 'api_key' ? record.api_key : record.access_token;
}

/**
 * The credential to hand out or send, or credential_missing. A value stored by an older version or
 * the Python authsome may break the credential rule (a newline, a 64 KiB key): it never goes into
 * a header, an environment or an exported file (`get --show-secret` still prints what is stored).
 */
export function usableCredential(record: ConnectionRecord): string {
  const value = credentialValue(record);
  const who = `${record.provider} (${record.connection_name})`;
  const hint = `Log in again: authsome login ${record.provider}${record.connection_name === 'default' ? '' : ` --connection ${record.connection_name}`} --force`;
  if (!value) throw new AuthsomeError('credential_missing', `${who} holds no credential`, { hint, provider: record.provider, connection: record.connection_name });
  const problem = credentialProblem(value);
  if (problem) {
    throw new AuthsomeError('credential_missing', `the credential stored for ${who} cannot be used: ${problem}`, { hint, provider: record.provider, connection: record.connection_name });
  }
  return value;
}

/**
 * How a credential travels, per its definition and the token type: a header with an optional
 * scheme, a query parameter, HTTP Basic, or several header templates. One answer for what is sent
 * (authHeaders) and what `authsome route` says is sent.
 */
export type CredentialShape =
  | { location: 'header'; header: string; scheme: string | null }
  | { location: 'query'; query_param: string | null }
  | { location: 'basic'; basic_template: string }
  | { location: 'headers'; templates: Record<string, string> };

export function credentialShape(definition: ProviderDefinition | null, authType: string, tokenType: string | null): CredentialShape {
  if (authType === 'oauth2') {
    // oauth.header_prefix overrides the token_type: "" sends the bare token (Postiz documents only that form).
    const prefix = definition?.oauth?.header_prefix ?? normalizeTokenType(tokenType);
    return { location: 'header', header: 'Authorization', scheme: prefix || null };
  }
  const apiKey = definition?.api_key;
  if (apiKey?.location === 'query') return { location: 'query', query_param: apiKey.query_param ?? null };
  if (apiKey?.location === 'basic') return { location: 'basic', basic_template: apiKey.basic_template ?? '{key}' };
  // Several headers, each a template (Cloudflare's legacy key: X-Auth-Email and X-Auth-Key).
  if (apiKey?.headers && Object.keys(apiKey.headers).length) return { location: 'headers', templates: { ...apiKey.headers } };
  const header = apiKey?.header_name ?? 'Authorization';
  const prefix = apiKey?.header_prefix ?? (header.toLowerCase() === 'authorization' ? 'Bearer' : '');
  return { location: 'header', header, scheme: prefix || null };
}

/** The HTTP headers that carry this connection's credential, per the provider definition. */
export function authHeaders(definition: ProviderDefinition | null, record: ConnectionRecord): Record<string, string> {
  const value = usableCredential(record);
  const shape = credentialShape(definition, record.auth_type, record.token_type);
  switch (shape.location) {
    case 'query':
      return {};
    case 'basic': {
      // RFC 7617 §2: user-id ":" password, base64. The template names {key} or the parts (api_key.fields).
      // A connection stored before its definition named parts holds the pair itself (Twilio's
      // "SID:token"): it keeps working as {key} until the next login stores the parts.
      const legacy = Boolean(definition?.api_key?.fields?.length) && Object.keys(storedParts(record)).length === 0;
      const pair = fillTemplate(legacy ? '{key}' : shape.basic_template, record, value);
      return { Authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
    }
    case 'headers':
      return Object.fromEntries(Object.entries(shape.templates).map(([name, template]) => [name, fillTemplate(template, record, value)]));
    case 'header':
      return { [shape.header]: shape.scheme ? `${shape.scheme} ${value}` : value };
  }
}

/** RFC 6750 §2.1 spells the scheme "Bearer"; some servers answer "bearer". */
function normalizeTokenType(tokenType: string | null): string {
  return !tokenType || tokenType.toLowerCase() === 'bearer' ? 'Bearer' : tokenType;
}
