// What `run`'s proxy needs from the broker: the routes (which connections, which hosts, which of a
// provider's own endpoints never get a credential, which variables the child sees placeholders
// for) and, per request, the credential to inject — renewed first when due.
import { expandUrl, fillRoute, routePlaceholders, routeTemplates, routeValue, type ProviderDefinition, type UrlValues } from '../providers/index.ts';
import { credentialProblem, parseTimestamp } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import { credentialParts, storedParts } from './api-key-parts.ts';
import { authHeaders, usableCredential } from './credentials.ts';
import { exportMapping } from './export.ts';
import { isReservedVariable } from './reserved-variables.ts';
import { apiKeyEnvVar } from './api-key-login.ts';
import { refreshWindowMs } from './refresh-policy.ts';
import { storedTenant } from './tenant.ts';

export interface RouteSpec {
  provider: string;
  connection: string;
  auth_type: string;
  /** The definition's routes (or its host_url) with their placeholders filled in. */
  rules: RouteRule[];
  /** The provider's own OAuth endpoints: requests to them never get a credential. */
  own_endpoints: string[];
  /** Variables the child gets a placeholder for (so SDKs start) instead of the real value. */
  env_vars: string[];
  /** Variables removed from the child's environment: the provider's OAuth client credentials. */
  strip_env_vars: string[];
  /** Variables the child gets the real value of: parts of a credential that are not secret (Twilio's Account SID, which SDKs put in URL paths). */
  env_values?: Record<string, string>;
}

export interface RouteRule {
  /** A host, a URL with a port or path prefix, a wildcard host (`https://*.example.com`), or `regex:<pattern>`. */
  url: string;
  /** Fixed headers requests on this route carry when they have none of that name. */
  headers: Record<string, string>;
}

export interface Injection {
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The credential value itself, so a 401 can tell whether it was already replaced. Never logged. */
  credential: string;
  /** Every secret the injection carries: the credential and the secret parts of a several-part one (not an account ID or an email). */
  secrets: string[];
  /** When to ask again (the token falls due), epoch ms; null for API keys and tokens of unknown expiry. */
  renewAt: number | null;
  /** When the token was issued (the record's obtained_at), epoch ms; null when unknown. */
  obtainedAt: number | null;
  oauth: boolean;
}

/**
 * The connection's routes, or null with the reason when none can be filled in: a `{base_url}` with
 * no base URL, an `{instance_url}` the token response did not give.
 */
export function routeSpec(definition: ProviderDefinition | null, record: ConnectionRecord): RouteSpec | { unrouted: string } {
  const values = routeValues(definition, record);
  // A definition's `routes` decide; else the host_url stored at login (a derived MCP provider's), else the definition's.
  const templates = definition?.routes?.length ? routeTemplates(definition) : routeTemplates({ host_url: record.host_url ?? definition?.host_url ?? null });
  if (templates.length === 0) return { unrouted: 'its definition names no route (routes or host_url)' };
  const rules: RouteRule[] = [];
  const missing: string[] = [];
  for (const template of templates) {
    const filled = fillRoute(template.url, values);
    if ('url' in filled) rules.push({ url: filled.url, headers: template.headers });
    else missing.push(`${template.url} needs {${filled.missing}}, which ${filled.missing === 'base_url' ? 'neither the connection nor the definition gives' : 'the connection does not hold (the token response gave none usable)'}`);
  }
  if (rules.length === 0) return { unrouted: missing.join('; ') };
  const own = ownEndpoints(definition, { base_url: values.base_url, tenant: storedTenant(record) });
  const env = new Set<string>(Object.values(exportMapping(definition, record)));
  const keyVar = definition ? apiKeyEnvVar(definition) : null;
  if (keyVar) env.add(keyVar);
  // A placeholder never replaces what the child needs to run (NODE_OPTIONS, the proxy variables authsome sets itself).
  for (const name of env) if (isReservedVariable(name)) env.delete(name);
  const envValues = publicParts(definition, record);
  for (const name of Object.keys(envValues)) env.delete(name);
  const strip = [definition?.client?.client_id_env, definition?.client?.client_secret_env].filter((name): name is string => Boolean(name) && !isReservedVariable(name!));
  return { provider: record.provider, connection: record.connection_name, auth_type: record.auth_type, rules, own_endpoints: own, env_vars: [...env], strip_env_vars: strip, env_values: envValues };
}

/**
 * A definition's routes with no connection (for `authsome route`): placeholders filled from the
 * definition alone; null when none can be (an `{instance_url}` is known only after a login).
 */
export function catalogueSpec(definition: ProviderDefinition): RouteSpec | null {
  const values = routeValues(definition, null);
  const rules = routeTemplates(definition).flatMap((template) => {
    const filled = fillRoute(template.url, values);
    return 'url' in filled ? [{ url: filled.url, headers: template.headers }] : [];
  });
  if (rules.length === 0) return null;
  return { provider: definition.name, connection: 'no connection', auth_type: definition.auth_type, rules, own_endpoints: ownEndpoints(definition, { base_url: values.base_url }), env_vars: [], strip_env_vars: [] };
}

/** A provider's own OAuth endpoints: requests to them never get a credential. */
function ownEndpoints(definition: ProviderDefinition | null, values: UrlValues): string[] {
  const o = definition?.oauth;
  const filled: UrlValues = { base_url: values.base_url, tenant: values.tenant ?? o?.tenant ?? null };
  return [o?.authorization_url, o?.token_url, o?.revocation_url, o?.device_authorization_url, o?.registration_endpoint, o?.refresh_url]
    .map((url) => expandUrl(url, filled))
    .filter((url): url is string => Boolean(url));
}

const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,;=:@]+)+\/?$|^\/$/;
const DOT_SEGMENT = /\/\.{1,2}(?:\/|$)/;

/**
 * A request path as routes are decided on it (and sent on): repeated slashes and dot-segments
 * resolved, percent-escaped unreserved characters decoded (RFC 3986 §6.2.2), so "//oauth/%74oken"
 * cannot slip past an own-endpoint or path-prefix rule. Throws on a path no URL can hold.
 */
export function normalizePathname(path: string): string {
  // Most paths are already normal; `run`'s proxy asks for every request. One made only of
  // characters the URL parser keeps as they are (RFC 3986 pchar, no "%", "\\", "#" or "?"), with
  // no empty or dot-segment, is returned unparsed.
  if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) return path;
  return new URL(path.replace(/\/{2,}/g, '/'), 'https://authority.invalid').pathname.replace(/\/{2,}/g, '/').replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase();
  });
}

/**
 * What route templates are filled with: the connection's base URL, and each other placeholder from
 * the record field of its name — kept there from a token response (route-values.ts) — when it is
 * an https URL (routeValue); a field that is not one fills nothing.
 */
export function routeValues(definition: ProviderDefinition | null, record: ConnectionRecord | null): Record<string, string | null> {
  const values: Record<string, string | null> = { base_url: record?.base_url ?? definition?.oauth?.base_url ?? null };
  for (const name of definition ? routePlaceholders(definition) : []) if (name !== 'base_url') values[name] = routeValue(record?.[name]);
  return values;
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
    secrets: [credential, ...secretParts(definition, record)],
    renewAt: record.auth_type === 'oauth2' && expiresAt ? expiresAt.getTime() - refreshWindowMs(record) : null,
    obtainedAt: parseTimestamp(record.obtained_at)?.getTime() ?? null,
    oauth: record.auth_type === 'oauth2',
  };
}

/** The stored values of the parts the definition calls secret (all of them when it names none). */
function secretParts(definition: ProviderDefinition | null, record: ConnectionRecord): string[] {
  const stored = storedParts(record);
  const parts = credentialParts(definition);
  if (!parts) return Object.values(stored);
  return parts.filter((part) => part.secret).map((part) => stored[part.name]).filter((value): value is string => Boolean(value));
}
