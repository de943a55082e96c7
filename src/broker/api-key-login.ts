// Logging in with an API key: checks the provider's key_pattern, refuses to overwrite an existing
// connection without force, and stores the key as a connection record.
import { AuthsomeError, credentialProblem, isAuthsomeError, toRecordTimestamp } from '../util/index.ts';
import { keys, orderRecord, type ConnectionRecord } from '../vault/index.ts';
import { matchesKeyPattern, type ProviderDefinition } from '../providers/index.ts';
import { addConnectionToMetadata, DEFAULT_CONNECTION } from './connections.ts';
import { checkParts, credentialParts } from './api-key-parts.ts';
import { isReservedVariable } from './reserved-variables.ts';
import { requireName, type BrokerContext } from './context.ts';

export interface ApiKeyLoginOptions {
  connection?: string;
  force?: boolean;
  /** Where the key came from, for the audit log (never the key). */
  via?: 'stdin' | 'env' | 'prompt' | 'form' | 'library';
}

export interface LoginResult {
  provider: string;
  connection: string;
  profile: string;
  replaced: boolean;
}

/** The env var `login` reads the key from: api_key.env_var, else the export mapping for api_key. */
export function apiKeyEnvVar(definition: ProviderDefinition): string | null {
  const name = definition.api_key?.env_var ?? definition.export?.env?.api_key ?? null;
  // A definition cannot have login read AUTHSOME_MASTER_KEY (or PATH) as its key and send it to its host.
  return name && !isReservedVariable(name) ? name : null;
}

/** The whole key must match the definition's key_pattern (re.fullmatch, as in the Python authsome), checked in linear time (RE2). */
export async function checkKeyPattern(definition: ProviderDefinition, apiKey: string): Promise<void> {
  const pattern = definition.api_key?.key_pattern;
  if (!pattern) return;
  if (!(await matchesKeyPattern(pattern, apiKey, definition.name))) {
    throw new AuthsomeError('input_invalid', `that does not look like an API key for ${definition.display_name ?? definition.name}`, {
      hint: definition.api_key?.key_pattern_hint ?? `Expected a key matching ${pattern}.`,
      provider: definition.name,
    });
  }
}

/**
 * Stores an API key: one string, or for a definition with api_key.fields every part by name
 * (api-key-parts.ts), each checked before anything is written.
 */
export async function loginWithApiKey(ctx: BrokerContext, provider: string, apiKey: string | Record<string, string>, options: ApiKeyLoginOptions = {}): Promise<LoginResult> {
  const { definition } = await ctx.registry.require(provider);
  if (definition.auth_type !== 'api_key') {
    throw new AuthsomeError('flow_unsupported', `${provider} uses OAuth (${definition.flow}), not an API key`, {
      hint: `OAuth login needs the authsome daemon: authsome login ${provider}`,
      provider,
    });
  }
  let parts: Record<string, string> | null = null;
  let key: string;
  if (credentialParts(definition)) {
    if (typeof apiKey === 'string') {
      throw new AuthsomeError('input_invalid', `${provider} takes a credential of several parts: ${credentialParts(definition)!.map((part) => part.name).join(', ')}`, {
        hint: `Give each as name=value, one a line, on stdin: authsome login ${provider} --api-key-stdin`, provider,
      });
    }
    ({ apiKey: key, parts } = checkParts(definition, apiKey));
  } else {
    // A form's values ({api_key}) or the key itself.
    const given = typeof apiKey === 'string' ? apiKey : Object.keys(apiKey).every((name) => name === 'api_key') ? apiKey.api_key ?? '' : null;
    if (given === null) throw new AuthsomeError('input_invalid', `${provider} takes one API key, not named parts`, { provider });
    key = given.trim();
  }
  if (!key) throw new AuthsomeError('input_invalid', `the API key for ${provider} is empty`, { provider });
  // Before the pattern, and before anything stores it: the key will travel in headers and exported files.
  const problem = credentialProblem(key);
  if (problem) {
    throw new AuthsomeError('input_invalid', `that cannot be an API key for ${provider}: ${problem}`, {
      hint: 'Paste the key alone, as the provider shows it (authsome removes one trailing newline and surrounding spaces).',
      provider,
    });
  }
  await checkKeyPattern(definition, key);
  const connection = requireName('connection', options.connection ?? DEFAULT_CONNECTION);
  const profile = ctx.profile;
  requireName('profile', profile);
  const recordKey = keys.connection(profile, provider, connection);

  const replaced = await ctx.vault.transaction(profile, async (tx) => {
    let existing: ConnectionRecord | null;
    let damaged = false;
    try {
      existing = await tx.read('connection', recordKey);
    } catch (error) {
      // --force replaces a damaged record (what its error hint and `doctor` say to do); a key that does not fit never does.
      if (!options.force || !isAuthsomeError(error) || error.code !== 'record_malformed') throw error;
      existing = null;
      damaged = true;
    }
    if (existing && !options.force) {
      throw new AuthsomeError('conflict', `${provider} already has a connection "${connection}" in profile "${profile}"; it was not overwritten`, {
        hint: `Pass --force to replace it, or --connection NAME to add another: authsome login ${provider} --force`,
        provider,
        connection,
      });
    }
    const record: ConnectionRecord = orderRecord('connection', {
      ...(existing ?? {}),
      schema_version: 2,
      provider,
      profile,
      connection_name: connection,
      auth_type: 'api_key',
      status: 'connected',
      base_url: existing?.base_url ?? null,
      host_url: definition.host_url ?? null,
      scopes: null,
      access_token: null,
      refresh_token: null,
      token_type: null,
      expires_at: null,
      obtained_at: toRecordTimestamp(),
      api_key: key,
      // Every part, for headers, export and run; a one-part key drops parts an earlier definition had.
      api_key_fields: parts ?? undefined,
      account: existing?.account ?? { id: null, label: null },
      metadata: existing?.metadata ?? {},
    });
    await tx.write('connection', recordKey, record);
    await addConnectionToMetadata(tx, profile, provider, connection);
    return existing !== null || damaged;
  });
  ctx.auditEvent('login', { provider, connection, profile: profile === 'default' ? undefined : profile, flow: 'api_key', source: options.via, status: 'success' });
  return { provider, connection, profile, replaced };
}
