// The route table: which hosts `run` intercepts and which connection's credential a request gets.
// Interception is decided on the CONNECT authority alone, never on a Host header the child wrote;
// within an intercepted host, a request gets a credential only if exactly one route matches it
// and it is not one of the provider's own OAuth endpoints. Every decision can explain itself.
import type { RouteSpec } from '../broker/index.ts';

export interface Route {
  spec: RouteSpec;
  host: string | null;
  hostPattern: RegExp | null;
  pathPrefix: string;
  /** The rule as people read it, for --verbose. */
  label: string;
}

export type Decision =
  | { inject: true; route: Route; why: string }
  | { inject: false; route: null; why: string };

export class RouteTable {
  readonly routes: Route[];
  readonly #ownEndpoints: Array<{ host: string; path: string; provider: string }>;

  constructor(specs: RouteSpec[]) {
    this.routes = specs.map(parseRoute);
    this.#ownEndpoints = specs.flatMap((spec) => spec.own_endpoints.flatMap((url) => {
      try {
        const u = new URL(url);
        return [{ host: u.hostname.toLowerCase(), path: trimSlash(u.pathname), provider: spec.provider }];
      } catch {
        return [];
      }
    }));
  }

  /** Whether TLS to this host is decrypted at all; every other host is a blind tunnel. */
  intercepts(host: string): boolean {
    const name = host.toLowerCase();
    return this.routes.some((route) => hostMatches(route, name));
  }

  decide(host: string, path: string): Decision {
    const name = host.toLowerCase();
    const pathname = path.split('?')[0] ?? '/';
    const own = this.#ownEndpoints.find((e) => e.host === name && trimSlash(pathname) === e.path);
    if (own) return { inject: false, route: null, why: `${name}${pathname} is an OAuth endpoint of ${own.provider}; never injected` };
    const matches = this.routes.filter((route) => hostMatches(route, name) && pathMatches(route.pathPrefix, pathname));
    if (matches.length === 1) return { inject: true, route: matches[0]!, why: `rule ${matches[0]!.label}` };
    if (matches.length === 0) return { inject: false, route: null, why: `no rule for ${name}${pathname}` };
    return { inject: false, route: null, why: `ambiguous: ${matches.map((m) => m.label).join(' and ')} all match ${name}${pathname}; nothing injected` };
  }
}

function parseRoute(spec: RouteSpec): Route {
  const label = `${spec.provider} (${spec.connection}) → ${spec.host_url}`;
  if (spec.host_url.startsWith('regex:')) {
    // The pattern must match the whole host: "api\.example\.com" must not match api.example.com.attacker.test.
    return { spec, host: null, hostPattern: new RegExp(`^(?:${spec.host_url.slice('regex:'.length)})$`, 'i'), pathPrefix: '/', label };
  }
  const url = new URL(spec.host_url.includes('://') ? spec.host_url : `https://${spec.host_url}`);
  const prefix = url.pathname.replace(/\/+$/, '');
  return { spec, host: url.hostname.toLowerCase(), hostPattern: null, pathPrefix: prefix || '/', label };
}

function hostMatches(route: Route, host: string): boolean {
  return route.host !== null ? route.host === host : route.hostPattern!.test(host);
}

/** "/v1" matches "/v1" and "/v1/models", not "/v10". */
function pathMatches(prefix: string, path: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(prefix + '/');
}

/** "/oauth/token/" is the same endpoint as "/oauth/token". */
function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
