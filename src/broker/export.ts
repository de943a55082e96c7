// `export`: environment variables from each provider's `export.env` mapping (record field → VAR).
// Refresh tokens are never exported, whatever a mapping says.
import type { ProviderDefinition } from '../providers/index.ts';
import { credentialProblem, exportProblem } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import { credentialParts, storedParts } from './api-key-parts.ts';
import { isSecretField } from './credentials.ts';
import { isReservedVariable } from './reserved-variables.ts';

export interface ExportedVariable {
  name: string;
  value: string;
  provider: string;
  connection: string;
}

const NEVER_EXPORTED = new Set(['refresh_token', 'client_secret']);

/** The mapping to use: the definition's own, else <NAME>_API_KEY / <NAME>_ACCESS_TOKEN. */
export function exportMapping(definition: ProviderDefinition | null, record: ConnectionRecord): Record<string, string> {
  const mapping = definition?.export?.env;
  if (mapping && Object.keys(mapping).length > 0) return mapping;
  const stem = record.provider.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  // A credential of several parts: each under its own variable (Twilio's SDKs read
  // TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, never one "SID:token").
  const parts = record.auth_type === 'api_key' ? credentialParts(definition) : null;
  if (parts) return Object.fromEntries(parts.map((part) => [part.name, part.envVar ?? `${stem}_${part.name.toUpperCase()}`]));
  return record.auth_type === 'api_key'
    ? { api_key: definition?.api_key?.env_var ?? `${stem}_API_KEY` }
    : { access_token: `${stem}_ACCESS_TOKEN` };
}

export function exportVariables(definition: ProviderDefinition | null, record: ConnectionRecord): { variables: ExportedVariable[]; skipped: string[] } {
  const variables: ExportedVariable[] = [];
  const skipped: string[] = [];
  for (const [field, name] of Object.entries(exportMapping(definition, record))) {
    if (NEVER_EXPORTED.has(field)) {
      skipped.push(`${name} (${field} is never exported)`);
      continue;
    }
    if (isReservedVariable(name)) {
      skipped.push(`${name} not exported: the definition maps ${field} to a variable that changes how programs run (code they load, commands, TLS trust or proxies); authsome never writes a credential there`);
      continue;
    }
    const part = field in record ? undefined : storedParts(record)[field];
    const raw = part ?? record[field];
    if (!(typeof raw === 'string' && raw) && !Array.isArray(raw)) {
      // A part the definition declares but the connection does not hold: stored as one key before
      // the definition named its parts (Twilio's "SID:token"). Said, not silently left out.
      if (credentialParts(definition)?.some((p) => p.name === field)) {
        skipped.push(`${name} not exported: connection "${record.connection_name}" of ${record.provider} holds no ${field} (it was stored as one key, before ${record.provider} named its parts); log in again to store them: authsome login ${record.provider} --force`);
      }
      continue;
    }
    const value = Array.isArray(raw) ? raw.join(' ') : raw;
    // A value stored by an older version or the Python authsome may carry a newline or be huge:
    // it is skipped, by name, and every other variable is still exported (issue 14).
    const problem = isSecretField(field) || part !== undefined ? credentialProblem(value) : exportProblem(value);
    if (problem) {
      skipped.push(`${name} not exported: the stored ${field} of connection "${record.connection_name}" cannot be handed out (${problem}); log in again: authsome login ${record.provider} --force`);
      continue;
    }
    variables.push({ name, value, provider: record.provider, connection: record.connection_name });
  }
  return { variables, skipped };
}
