// Record types of the store (schema_version 2) and their serialization in the Python field
// order. Unknown fields are kept and written after the known ones, as pydantic's extra="allow" does.
import { AuthsomeError, compactJson } from '../util/index.ts';
import type { RecordKind } from './keys.ts';

export type StoredStatus = 'connected' | 'expired' | 'revoked' | 'invalid' | 'not_connected';
export type AuthType = 'oauth2' | 'api_key';

export interface Account {
  id: string | null;
  label: string | null;
  [extra: string]: unknown;
}

export interface ConnectionRecord {
  schema_version: number;
  provider: string;
  profile: string;
  connection_name: string;
  auth_type: AuthType;
  status: StoredStatus;
  base_url: string | null;
  host_url: string | null;
  scopes: string[] | null;
  access_token: string | null;
  refresh_token: string | null;
  token_type: string | null;
  expires_at: string | null;
  obtained_at: string | null;
  api_key: string | null;
  account: Account;
  metadata: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface ProviderMetadataRecord {
  schema_version: number;
  profile: string;
  provider: string;
  default_connection: string | null;
  connection_names: string[];
  last_used_connection: string | null;
  metadata: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface ClientRecord {
  schema_version: number;
  profile: string;
  provider: string;
  client_id: string | null;
  client_secret: string | null;
  base_url: string | null;
  host_url: string | null;
  scopes: string[] | null;
  metadata: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface ProviderStateRecord {
  schema_version: number;
  provider: string;
  profile: string;
  last_refresh_at: string | null;
  last_refresh_error: string | null;
  metadata: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface RecordByKind {
  connection: ConnectionRecord;
  metadata: ProviderMetadataRecord;
  client: ClientRecord;
  state: ProviderStateRecord;
}

export const SCHEMA_VERSION = 2;

/** Field order per kind, with the default each missing field takes. */
const FIELDS: { [K in RecordKind]: ReadonlyArray<readonly [string, () => unknown]> } = {
  connection: [
    ['schema_version', () => SCHEMA_VERSION], ['provider', () => null], ['profile', () => null], ['connection_name', () => null],
    ['auth_type', () => null], ['status', () => 'not_connected'], ['base_url', () => null], ['host_url', () => null],
    ['scopes', () => null], ['access_token', () => null], ['refresh_token', () => null], ['token_type', () => null],
    ['expires_at', () => null], ['obtained_at', () => null], ['api_key', () => null],
    ['account', () => ({ id: null, label: null })], ['metadata', () => ({})],
  ],
  metadata: [
    ['schema_version', () => SCHEMA_VERSION], ['profile', () => null], ['provider', () => null], ['default_connection', () => null],
    ['connection_names', () => []], ['last_used_connection', () => null], ['metadata', () => ({})],
  ],
  client: [
    ['schema_version', () => SCHEMA_VERSION], ['profile', () => null], ['provider', () => null], ['client_id', () => null],
    ['client_secret', () => null], ['base_url', () => null], ['host_url', () => null], ['scopes', () => null], ['metadata', () => ({})],
  ],
  state: [
    ['schema_version', () => SCHEMA_VERSION], ['provider', () => null], ['profile', () => null], ['last_refresh_at', () => null],
    ['last_refresh_error', () => null], ['metadata', () => ({})],
  ],
};

/** Orders a record's fields as the Python implementation writes them; extras follow, in their own order. */
export function orderRecord<K extends RecordKind>(kind: K, record: Partial<RecordByKind[K]> & Record<string, unknown>): RecordByKind[K] {
  const ordered: Record<string, unknown> = {};
  for (const [field, fallback] of FIELDS[kind]) ordered[field] = record[field] === undefined ? fallback() : record[field];
  for (const [field, value] of Object.entries(record)) if (!(field in ordered)) ordered[field] = value;
  return ordered as RecordByKind[K];
}

export function serializeRecord<K extends RecordKind>(kind: K, record: RecordByKind[K]): string {
  return compactJson(orderRecord(kind, record));
}

/**
 * Parses a decrypted record. Returns null for a v1 record (no schema_version or below 2), which the
 * Python implementation also skips; throws record_malformed for anything that is not a record.
 */
export function parseRecord<K extends RecordKind>(kind: K, key: string, plaintext: string): RecordByKind[K] | null {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    throw malformed(key, 'it is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(key, 'it is not a JSON object');
  const record = value as Record<string, unknown>;
  if (typeof record.schema_version !== 'number' || record.schema_version < SCHEMA_VERSION) return null;
  const problem = checkShape(kind, record);
  if (problem) throw malformed(key, problem);
  return record as RecordByKind[K];
}

function checkShape(kind: RecordKind, record: Record<string, unknown>): string | null {
  const isStringOrNull = (v: unknown) => v == null || typeof v === 'string';
  const isStringArrayOrNull = (v: unknown) => v == null || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
  const isObjectOrNull = (v: unknown) => v == null || (typeof v === 'object' && !Array.isArray(v));
  const strings: Record<RecordKind, string[]> = {
    connection: ['provider', 'profile', 'connection_name', 'auth_type', 'status', 'base_url', 'host_url', 'access_token', 'refresh_token', 'token_type', 'expires_at', 'obtained_at', 'api_key'],
    metadata: ['profile', 'provider', 'default_connection', 'last_used_connection'],
    client: ['profile', 'provider', 'client_id', 'client_secret', 'base_url', 'host_url'],
    state: ['provider', 'profile', 'last_refresh_at', 'last_refresh_error'],
  };
  for (const field of strings[kind]) if (!isStringOrNull(record[field])) return `field "${field}" must be a string or null`;
  if (!isObjectOrNull(record.metadata)) return 'field "metadata" must be an object';
  if (kind === 'connection') {
    if (!isStringArrayOrNull(record.scopes)) return 'field "scopes" must be a list of strings';
    if (!isObjectOrNull(record.account)) return 'field "account" must be an object';
    if (typeof record.connection_name !== 'string') return 'field "connection_name" is missing';
  }
  if (kind === 'client' && !isStringArrayOrNull(record.scopes)) return 'field "scopes" must be a list of strings';
  if (kind === 'metadata' && !isStringArrayOrNull(record.connection_names)) return 'field "connection_names" must be a list of strings';
  return null;
}

function malformed(key: string, problem: string): AuthsomeError {
  return new AuthsomeError('record_malformed', `the record ${key} is malformed: ${problem}; it was left as it is`, {
    hint: 'Run `authsome doctor` to list damaged records; log in again to replace this one (`authsome login <provider> --force`).',
  });
}
