// Credentials of several parts (api_key.fields: Twilio's Account SID and Auth Token, Cloudflare's
// email and Global API Key). The record keeps every part in `api_key_fields` (an extra field, kept
// by every reader of the store) and the first secret part in `api_key`, so that `get --field
// api_key`, the Python authsome and everything that reads one key still find the secret.
import type { ProviderDefinition } from '../providers/index.ts';
import { AuthsomeError, credentialProblem } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import { isReservedVariable } from './reserved-variables.ts';

export interface CredentialPart {
  name: string;
  label: string;
  /** The variable `login` reads it from and `export`/`run` give it; null when none (or a reserved one). */
  envVar: string | null;
  secret: boolean;
  hint: string | null;
}

/** The parts a definition declares, or null for a one-part key. */
export function credentialParts(definition: ProviderDefinition | null): CredentialPart[] | null {
  const fields = definition?.api_key?.fields;
  if (!fields?.length) return null;
  return fields.map((field) => ({
    name: field.name,
    label: field.label ?? field.name.replace(/_/g, ' '),
    envVar: field.env_var && !isReservedVariable(field.env_var) ? field.env_var : null,
    secret: field.secret !== false,
    hint: field.hint ?? null,
  }));
}

/** The stored parts of a record ({} for a one-part key). */
export function storedParts(record: ConnectionRecord): Record<string, string> {
  const parts = record.api_key_fields;
  if (!parts || typeof parts !== 'object' || Array.isArray(parts)) return {};
  return Object.fromEntries(Object.entries(parts as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * The values a login collected, checked: every part present, each a usable credential (it travels
 * in headers and exported files). Returns the record's api_key (the first secret part) and parts.
 */
export function checkParts(definition: ProviderDefinition, values: Record<string, string | undefined>): { apiKey: string; parts: Record<string, string> } {
  const parts = credentialParts(definition)!;
  const checked: Record<string, string> = {};
  const unknown = Object.keys(values).filter((name) => !parts.some((part) => part.name === name));
  if (unknown.length) {
    throw new AuthsomeError('input_invalid', `${definition.name} has no credential part ${unknown.map((n) => `"${n}"`).join(', ')}`, {
      hint: `Its parts are: ${parts.map((part) => part.name).join(', ')}.`, provider: definition.name,
    });
  }
  for (const part of parts) {
    const value = values[part.name]?.trim();
    if (!value) {
      throw new AuthsomeError('input_invalid', `the ${part.label} (${part.name}) for ${definition.name} is missing`, {
        hint: `Give every part: ${parts.map((p) => p.name).join(', ')}${part.envVar ? ` (${part.name} may come from $${part.envVar})` : ''}.`, provider: definition.name,
      });
    }
    const problem = credentialProblem(value);
    if (problem) throw new AuthsomeError('input_invalid', `that cannot be the ${part.label} (${part.name}) for ${definition.name}: ${problem}`, { provider: definition.name });
    checked[part.name] = value;
  }
  return { apiKey: checked[parts.find((part) => part.secret)!.name]!, parts: checked };
}

/** A template ({key}, {account_sid}…) filled from the record; a part it lacks is credential_missing. */
export function fillTemplate(template: string, record: ConnectionRecord, key: string): string {
  const values: Record<string, string> = { ...storedParts(record), key };
  return template.replace(/\{([^{}]*)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new AuthsomeError('credential_missing', `${record.provider} (${record.connection_name}) has no stored ${name}`, {
        hint: `Log in again: authsome login ${record.provider} --force`, provider: record.provider, connection: record.connection_name,
      });
    }
    return value;
  });
}

/**
 * Parts given on standard input: one `name=value` a line (blank lines and #-comments skipped), so
 * no secret ever sits in argv. A line without "=" is refused, naming its line number only.
 */
export function parsePartsInput(definition: ProviderDefinition, text: string): Record<string, string> {
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const equals = line.indexOf('=');
    if (equals <= 0) {
      throw new AuthsomeError('input_invalid', `line ${index + 1} of the input is not name=value`, {
        hint: `Give one part a line: ${credentialParts(definition)!.map((part) => `${part.name}=…`).join(', ')}.`, provider: definition.name,
      });
    }
    values[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  });
  return values;
}
