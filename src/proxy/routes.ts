// The route table: which hosts `run` intercepts and which connection's credential a request gets.
// Interception is decided on the CONNECT authority alone — host and port — never on a Host header
// the child wrote; within an intercepted authority, a request gets a credential only if exactly one
// route matches it and it is not one of the provider's own OAuth endpoints. Every decision can
// explain itself.
import type { RouteSpec } from '../broker/index.ts';

export interface Route {
  spec: RouteSpec;
  host: string | null;
  hostPattern: RegExp | null;
  /**
   * The origin's port: the one in host_url, else 443. A credential is bound to an origin (RFC 6454
   * §4: scheme, host and port), so another port on the same host — a debug server, a service someone
   * else runs there — never receives it (issue 14, item 6).
   */
  port: number;
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

  /** Whether any route names this host, on whatever port: the names the run's CA mints leaves for. */
  routesHost(host: string): boolean {
    const name = host.toLowerCase();
    return this.routes.some((route) => hostMatches(route, name));
  }

  /**
   * Whether TLS to this authority is decrypted at all; every other one is a blind tunnel. `why` says,
   * for --verbose, when a routed host was asked for on a port no route of it is bound to.
   */
  intercepts(host: string, port: number): { intercept: boolean; why: string | null } {
    const name = host.toLowerCase();
    const sameHost = this.routes.filter((route) => hostMatches(route, name));
    if (sameHost.some((route) => route.port === port)) return { intercept: true, why: null };
    if (sameHost.length === 0) return { intercept: false, why: null };
    const ports = [...new Set(sameHost.map((route) => route.port))].join(', ');
    return { intercept: false, why: `CONNECT ${name}:${port} is a blind tunnel: the routes for ${name} are bound to port ${ports}, so no credential goes to port ${port}` };
  }

  decide(host: string, port: number, path: string): Decision {
    const name = host.toLowerCase();
    const pathname = path.split('?')[0] ?? '/';
    const own = this.#ownEndpoints.find((e) => e.host === name && trimSlash(pathname) === e.path);
    if (own) return { inject: false, route: null, why: `${name}${pathname} is an OAuth endpoint of ${own.provider}; never injected` };
    const matches = this.routes.filter((route) => hostMatches(route, name) && route.port === port && pathMatches(route.pathPrefix, pathname));
    if (matches.length === 1) return { inject: true, route: matches[0]!, why: `rule ${matches[0]!.label}` };
    if (matches.length === 0) return { inject: false, route: null, why: `no rule for ${name}${pathname}` };
    return { inject: false, route: null, why: `ambiguous: ${matches.map((m) => m.label).join(' and ')} all match ${name}${pathname}; nothing injected` };
  }
}

function parseRoute(spec: RouteSpec): Route {
  const label = `${spec.provider} (${spec.connection}) → ${spec.host_url}`;
  if (spec.host_url.startsWith('regex:')) {
    // The pattern must match the whole host: "api\.example\.com" must not match api.example.com.attacker.test.
    // A pattern names hosts only: its routes are bound to HTTPS's own port.
    return { spec, host: null, hostPattern: new RegExp(`^(?:${spec.host_url.slice('regex:'.length)})$`, 'i'), port: 443, pathPrefix: '/', label };
  }
  const url = new URL(spec.host_url.includes('://') ? spec.host_url : `https://${spec.host_url}`);
  const prefix = url.pathname.replace(/\/+$/, '');
  // Credentials only travel over TLS, so a host_url without a port means 443 whatever its scheme
  // says (an http:// host_url is reached with https:// through the proxy, or not injected at all).
  const port = url.port ? Number(url.port) : 443;
  return { spec, host: url.hostname.toLowerCase(), hostPattern: null, port, pathPrefix: prefix || '/', label };
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
