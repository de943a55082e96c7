// What `run`'s proxy needs from the broker: the routes (which connections, which hosts, which of a
// provider's own endpoints never get a credential, which variables the child sees placeholders
// for) and, per request, the credential to inject — renewed first when due.
import { expandUrl, type ProviderDefinition } from '../providers/index.ts';
import { credentialProblem, parseTimestamp } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import { credentialParts, storedParts } from './api-key-parts.ts';
import { authHeaders, usableCredential } from './credentials.ts';
import { exportMapping } from './export.ts';
import { isReservedVariable } from './reserved-variables.ts';
import { apiKeyEnvVar } from './api-key-login.ts';
import { refreshWindowMs } from './refresh-policy.ts';

export interface RouteSpec {
  provider: string;
  connection: string;
  auth_type: string;
  /** host_url with {base_url} filled in: a host, a URL with a path prefix, or `regex:<pattern>`. */
  host_url: string;
  /** The provider's own OAuth endpoints: requests to them never get a credential. */
  own_endpoints: string[];
  /** Variables the child gets a placeholder for (so SDKs start) instead of the real value. */
  env_vars: string[];
  /** Variables removed from the child's environment: the provider's OAuth client credentials. */
  strip_env_vars: string[];
  /** Variables the child gets the real value of: parts of a credential that are not secret (Twilio's Account SID, which SDKs put in URL paths). */
  env_values?: Record<string, string>;
}

export interface Injection {
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The credential value itself, so a 401 can tell whether it was already replaced. Never logged. */
  credential: string;
  /** When to ask again (the token falls due), epoch ms; null for API keys and tokens of unknown expiry. */
  renewAt: number | null;
  /** When the token was issued (the record's obtained_at), epoch ms; null when unknown. */
  obtainedAt: number | null;
  oauth: boolean;
}

export function routeSpec(definition: ProviderDefinition | null, record: ConnectionRecord): RouteSpec | null {
  const hostUrl = record.host_url ?? definition?.host_url ?? null;
  const base = record.base_url ?? definition?.oauth?.base_url ?? null;
  const expanded = hostUrl ? expandUrl(hostUrl, base) : null;
  if (!expanded) return null;
  const o = definition?.oauth;
  const own = [o?.authorization_url, o?.token_url, o?.revocation_url, o?.device_authorization_url, o?.registration_endpoint]
    .map((url) => expandUrl(url, base))
    .filter((url): url is string => Boolean(url));
  const env = new Set<string>(Object.values(exportMapping(definition, record)));
  const keyVar = definition ? apiKeyEnvVar(definition) : null;
  if (keyVar) env.add(keyVar);
  // A placeholder never replaces what the child needs to run (NODE_OPTIONS, the proxy variables authsome sets itself).
  for (const name of env) if (isReservedVariable(name)) env.delete(name);
  const envValues = publicParts(definition, record);
  for (const name of Object.keys(envValues)) env.delete(name);
  const strip = [definition?.client?.client_id_env, definition?.client?.client_secret_env].filter((name): name is string => Boolean(name) && !isReservedVariable(name!));
  return { provider: record.provider, connection: record.connection_name, auth_type: record.auth_type, host_url: expanded, own_endpoints: own, env_vars: [...env], strip_env_vars: strip, env_values: envValues };
}

/** The non-secret parts of a several-part credential, by the variable export gives them. */
function publicParts(definition: ProviderDefinition | null, record: ConnectionRecord): Record<string, string> {
  const parts = record.auth_type === 'api_key' ? credentialParts(definition) : null;
  if (!parts) return {};
  const mapping = exportMapping(definition, record);
  const stored = storedParts(record);
  const values: Record<string, string> = {};
  for (const part of parts) {
    const name = mapping[part.name];
    const value = stored[part.name];
    if (!part.secret && name && value && !isReservedVariable(name) && !credentialProblem(value)) values[name] = value;
  }
  return values;
}

export function injectionFor(definition: ProviderDefinition | null, record: ConnectionRecord): Injection {
  const credential = usableCredential(record);
  const apiKey = definition?.api_key;
  const query = record.auth_type === 'api_key' && apiKey?.location === 'query' && apiKey.query_param ? { [apiKey.query_param]: credential } : {};
  const expiresAt = parseTimestamp(record.expires_at);
  return {
    headers: authHeaders(definition, record),
    query,
    credential,
    renewAt: record.auth_type === 'oauth2' && expiresAt ? expiresAt.getTime() - refreshWindowMs(record) : null,
    obtainedAt: parseTimestamp(record.obtained_at)?.getTime() ?? null,
    oauth: record.auth_type === 'oauth2',
  };
}
