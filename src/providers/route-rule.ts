// One route of a provider definition: the origin (and path prefix) whose requests get the
// provider's credential. A route is written as a host (`api.openai.com`), a URL with a port or a
// path prefix (`https://api.example.com:8443/v2`), a wildcard host (`https://*.googleapis.com`:
// every name below googleapis.com, not googleapis.com itself), or `regex:<pattern>` (host_url
// only). Templates fill `{base_url}` and values kept from the token response (`{instance_url}`)
// at the start of the URL. How routes compete is decided in the broker's route table.
import { isIP } from 'node:net';
import { isDnsName, scopeOfPattern, type HostScope } from './host-scope.ts';

export interface RouteTemplate {
  /** The route as written in the definition (placeholders unfilled). */
  url: string;
  /** Fixed headers requests on this route carry (added when the request has none of that name). */
  headers: Record<string, string>;
}

export type RouteHostKind = 'exact' | 'wildcard' | 'pattern';

export interface RouteTarget {
  kind: RouteHostKind;
  /** exact: the host; wildcard: the domain below which every name matches; pattern: null. */
  host: string | null;
  pattern: RegExp | null;
  /**
   * The origin's port: the one in the URL, else 443. A credential is bound to an origin (RFC 6454
   * §4: scheme, host and port), so another port on the same host never receives it.
   */
  port: number;
  /** "/" or a prefix without a trailing slash. */
  pathPrefix: string;
  /** The names a certificate for this route's hosts may carry (the run's CA is limited to them). */
  scope: HostScope[];
}

/**
 * Names a template may not take from the token response: those that hold or describe a credential,
 * and the connection record's own fields (a kept value is stored under its name, and must never
 * overwrite the record's status, account or tokens). `base_url` is the connection's, not the response's.
 */
const NOT_ROUTE_VALUES = new Set([
  'access_token', 'refresh_token', 'id_token', 'token_type', 'expires_in', 'scope', 'api_key', 'client_id', 'client_secret',
  'code', 'state', 'error', 'error_description', 'error_uri', 'issued_token_type',
  'schema_version', 'provider', 'profile', 'connection_name', 'auth_type', 'status', 'host_url', 'scopes', 'expires_at',
  'obtained_at', 'account', 'metadata',
]);

/** Whether a placeholder's value comes from the token response (kept in the connection record under its name). */
export function isTokenResponseValue(name: string): boolean {
  return name !== 'base_url' && !NOT_ROUTE_VALUES.has(name);
}
const PLACEHOLDER = /\{([a-z][a-z0-9_]*)\}/g;
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The routes of a definition: `routes` when given, else its one `host_url`. */
export function routeTemplates(definition: { routes?: Array<{ url: string; headers?: Record<string, string> | null }> | null; host_url?: string | null }): RouteTemplate[] {
  if (definition.routes?.length) return definition.routes.map((r) => ({ url: r.url, headers: { ...(r.headers ?? {}) } }));
  return definition.host_url ? [{ url: definition.host_url, headers: {} }] : [];
}

/** The placeholders a route URL uses, in order (`base_url`, `instance_url`, …). */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Every placeholder the definition's routes use, once each. */
export function routePlaceholders(definition: Parameters<typeof routeTemplates>[0]): string[] {
  return [...new Set(routeTemplates(definition).flatMap((r) => placeholdersOf(r.url)))];
}

/** Why a placeholder cannot be used in a route, or null. */
export function placeholderProblem(template: string): string | null {
  const names = placeholdersOf(template);
  if (names.length === 0) return template.includes('{') ? 'has a "{" that is no placeholder ({base_url} or {<token response field>})' : null;
  if (names.length > 1 || !template.startsWith(`{${names[0]}}`)) return 'may hold one placeholder, at its start (e.g. "{instance_url}/services")';
  if (NOT_ROUTE_VALUES.has(names[0]!)) return `cannot use {${names[0]}}: it is not an address`;
  return null;
}

/**
 * Fills a route template; `values` maps placeholder names to URLs (base_url, instance_url). The
 * missing name when a placeholder has no value.
 */
export function fillRoute(template: string, values: Record<string, string | null | undefined>): { url: string } | { missing: string } {
  const [name] = placeholdersOf(template);
  if (!name) return { url: template };
  const value = values[name];
  if (!value) return { missing: name };
  return { url: template.replace(`{${name}}`, value.replace(/\/+$/, '')) };
}

/**
 * A value for a route placeholder taken from a token response or a login: an `https` URL with a
 * host name and nothing but an optional path (no user, query or fragment), as its origin and path
 * without a trailing slash. Null for anything else — a provider's answer decides where its own
 * token goes, but never to plain HTTP, and never through a URL that reads as something else.
 */
export function routeValue(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 2048 || !/^https:\/\//i.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.username || url.password || url.search || url.hash || value.includes('?') || value.includes('#')) return null;
  const host = url.hostname.toLowerCase();
  if (!host.split('.').every((label) => LABEL.test(label)) || host.split('.').length < 2) return null;
  return `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '');
}

/** Parses a filled route; throws an Error saying what is wrong. */
export function parseRouteTarget(url: string): RouteTarget {
  if (url.startsWith('regex:')) {
    // The pattern must match the whole host: "api\.example\.com" must not match api.example.com.attacker.test.
    // A pattern names hosts only: its routes are bound to HTTPS's own port.
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${url.slice('regex:'.length)})$`, 'i');
    } catch (error) {
      throw new Error(`is not a valid regular expression (${(error as Error).message})`);
    }
    const scope = scopeOfPattern(url.slice('regex:'.length));
    if (!scope) throw new Error('ends in no literal domain the run\'s CA can be limited to; write the pattern with one, e.g. regex:[a-z0-9-]+\\.example\\.com');
    return { kind: 'pattern', host: null, pattern, port: 443, pathPrefix: '/', scope };
  }
  const text = url.includes('://') ? url : `https://${url}`;
  const wildcard = /^[a-z]+:\/\/\*\./i.test(text);
  let parsed: URL;
  try {
    parsed = new URL(wildcard ? text.replace('*.', 'wildcard.') : text);
  } catch {
    throw new Error('is not a host or an https URL');
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) throw new Error('may not carry a user, a query or a fragment');
  if (text.slice(text.indexOf('://') + 3).includes('*') && !wildcard) throw new Error('may use "*" only as its first label ("https://*.example.com")');
  // An IPv6 literal is named without its brackets, as a CONNECT authority is read.
  let host = parsed.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (wildcard) {
    host = host.slice('wildcard.'.length);
    // A suffix of one label (`*.com`) would give the credential — and the run's CA — a whole top-level domain.
    if (host.split('.').length < 2 || !host.split('.').every((l) => LABEL.test(l))) throw new Error('needs a domain of at least two labels after "*." (e.g. "*.googleapis.com")');
  }
  const prefix = parsed.pathname.replace(/\/+$/, '');
  // Credentials only travel over TLS, so a route without a port means 443 whatever its scheme says.
  const port = parsed.port ? Number(parsed.port) : 443;
  if (!wildcard && !isIP(host) && !isDnsName(host, 1)) throw new Error('is not a host name or an address');
  return { kind: wildcard ? 'wildcard' : 'exact', host, pattern: null, port, pathPrefix: prefix || '/', scope: [isIP(host) ? { ip: host } : { dns: host }] };
}

/** Whether the host (lower-case) is one the target names, on any port. */
export function hostMatches(target: RouteTarget, host: string): boolean {
  if (target.kind === 'exact') return target.host === host;
  if (target.kind === 'wildcard') return host.endsWith('.' + target.host);
  return target.pattern!.test(host);
}

/** "/v1" matches "/v1" and "/v1/models", not "/v10". */
export function pathMatches(prefix: string, path: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(prefix + '/');
}

/**
 * How specific a route is, compared field by field, larger first: an exact host beats every
 * wildcard, a wildcard with a longer domain beats a shorter one (`*.svc.pinecone.io` before
 * `*.pinecone.io`), a pattern comes last; within the same host, a longer path prefix wins.
 */
export function specificity(target: RouteTarget): [number, number, number] {
  const hostRank = target.kind === 'exact' ? 2 : target.kind === 'wildcard' ? 1 : 0;
  const hostLength = target.kind === 'pattern' ? 0 : target.host!.split('.').length;
  const pathLength = target.pathPrefix === '/' ? 0 : target.pathPrefix.split('/').length - 1;
  return [hostRank, hostLength, pathLength];
}

/** The route as people read it: `https://*.googleapis.com`, `https://api.example.com:8443/v2`, `regex:…`. */
export function describeTarget(target: RouteTarget, url: string): string {
  if (target.kind === 'pattern') return url;
  const host = target.kind === 'wildcard' ? `*.${target.host}` : target.host!.includes(':') ? `[${target.host}]` : target.host;
  return `https://${host}${target.port === 443 ? '' : `:${target.port}`}${target.pathPrefix === '/' ? '' : target.pathPrefix}`;
}

export function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
