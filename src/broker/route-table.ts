// The route table: which hosts `run` intercepts and which connection's credential a request gets.
// The one decision `run`'s proxy, `authsome route` and the library make. Interception is decided on
// the CONNECT authority alone — host and port — never on a Host header the child wrote. Within an
// intercepted authority a request gets the credential of the most specific route that matches it
// (an exact host beats a wildcard, a longer wildcard domain a shorter one, any host a regex; then
// the longer path prefix), unless it is one of a provider's own OAuth endpoints, or two routes tie
// — then nothing is injected, since either guess could send a credential to the wrong account.
import {
  compareRank, describeTarget, hostMatches, parseRouteTarget, pathMatches, specificity, type RouteTarget,
} from '../providers/index.ts';
import type { RouteRule, RouteSpec } from './proxy-support.ts';

export interface Route {
  spec: RouteSpec;
  rule: RouteRule;
  target: RouteTarget;
  /** The exact host, or null for a wildcard or pattern (their leaves are minted on first use). */
  host: string | null;
  port: number;
  pathPrefix: string;
  /** Fixed headers the request carries when it has none of that name. */
  headers: Record<string, string>;
  /** The rule as people read it, for --verbose and the audit entry. */
  label: string;
  /** The route in its normal form (`https://api.example.com`, `https://*.googleapis.com:8443/v2`), for `authsome route`. */
  normalized: string;
}

export type DecisionKind = 'inject' | 'own_endpoint' | 'no_route' | 'ambiguous';

export type Decision =
  | { inject: true; kind: 'inject'; route: Route; why: string }
  | { inject: false; kind: Exclude<DecisionKind, 'inject'>; route: null; why: string };

/** A route whose host matches, and what became of it. */
export interface Candidate {
  route: Route;
  outcome: 'chosen' | 'less_specific' | 'tied' | 'other_path' | 'other_port' | 'own_endpoint';
  why: string;
}

/** Decisions remembered per table (see RouteTable.#decided). */
const DECIDED_LIMIT = 1024;

export class RouteTable {
  readonly routes: Route[];
  /** Routes that could not be parsed: left out, with the reason. */
  readonly rejected: Array<{ spec: RouteSpec; url: string; why: string }> = [];
  readonly #ownEndpoints: Array<{ host: string; path: string; provider: string }>;
  /**
   * Decisions already made, by authority and pathname: the table never changes once built, and
   * `run`'s proxy asks the same question for every request of a keep-alive stream (explain() builds
   * every candidate's reason in words). Bounded: a child walking many paths only refills it.
   */
  readonly #decided = new Map<string, Decision>();

  constructor(specs: RouteSpec[]) {
    const seen = new Set<string>();
    this.routes = [];
    for (const spec of specs) {
      for (const rule of spec.rules) {
        const key = JSON.stringify([spec.provider, spec.connection, rule.url, rule.headers]);
        if (seen.has(key)) continue;
        seen.add(key);
        try {
          this.routes.push(toRoute(spec, rule));
        } catch (error) {
          this.rejected.push({ spec, url: rule.url, why: (error as Error).message });
        }
      }
    }
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
    return this.routes.some((route) => hostMatches(route.target, name));
  }

  /**
   * Whether TLS to this authority is decrypted at all; every other one is a blind tunnel. `why` says,
   * for --verbose, when a routed host was asked for on a port no route of it is bound to.
   */
  intercepts(host: string, port: number): { intercept: boolean; why: string | null } {
    const name = host.toLowerCase();
    const sameHost = this.routes.filter((route) => hostMatches(route.target, name));
    if (sameHost.some((route) => route.port === port)) return { intercept: true, why: null };
    if (sameHost.length === 0) return { intercept: false, why: null };
    const ports = [...new Set(sameHost.map((route) => route.port))].join(', ');
    return { intercept: false, why: `CONNECT ${name}:${port} is a blind tunnel: the routes for ${name} are bound to port ${ports}, so no credential goes to port ${port}` };
  }

  decide(host: string, port: number, path: string): Decision {
    // The host's length makes the key unambiguous whatever characters the host and path hold.
    const key = `${port}:${host.length}:${host.toLowerCase()}${path.split('?')[0] ?? '/'}`;
    let decision = this.#decided.get(key);
    if (!decision) {
      decision = this.explain(host, port, path).decision;
      if (this.#decided.size >= DECIDED_LIMIT) this.#decided.clear();
      this.#decided.set(key, decision);
    }
    return decision;
  }

  /** The decision, and every route on this host with the reason it was or was not chosen. */
  explain(host: string, port: number, path: string): { decision: Decision; candidates: Candidate[] } {
    const name = host.toLowerCase();
    const pathname = path.split('?')[0] ?? '/';
    const sameHost = this.routes.filter((route) => hostMatches(route.target, name));
    const own = this.#ownEndpoints.find((e) => e.host === name && trimSlash(pathname) === e.path);
    if (own) {
      const why = `${name}${pathname} is an OAuth endpoint of ${own.provider}; never injected`;
      return { decision: { inject: false, kind: 'own_endpoint', route: null, why }, candidates: sameHost.map((route) => ({ route, outcome: 'own_endpoint', why })) };
    }
    const candidates: Candidate[] = [];
    const matches: Route[] = [];
    for (const route of sameHost) {
      if (route.port !== port) candidates.push({ route, outcome: 'other_port', why: `bound to port ${route.port}, not ${port}` });
      else if (!pathMatches(route.pathPrefix, pathname)) candidates.push({ route, outcome: 'other_path', why: `${pathname} is outside its path prefix ${route.pathPrefix}` });
      else matches.push(route);
    }
    if (matches.length === 0) return { decision: { inject: false, kind: 'no_route', route: null, why: `no rule for ${name}${pathname}` }, candidates };
    matches.sort((a, b) => compareRank(specificity(b.target), specificity(a.target)));
    const best = matches[0]!;
    const tied = matches.filter((m) => compareRank(specificity(m.target), specificity(best.target)) === 0);
    if (tied.length > 1) {
      const why = `ambiguous: ${tied.map((m) => m.label).join(' and ')} all match ${name}${pathname} equally; nothing injected`;
      for (const route of matches) {
        candidates.push(tied.includes(route)
          ? { route, outcome: 'tied', why: `as specific as ${tied.filter((t) => t !== route).map((t) => t.label).join(', ')}` }
          : { route, outcome: 'less_specific', why: `less specific than ${best.label} (${rankWords(route.target, best.target)})` });
      }
      return { decision: { inject: false, kind: 'ambiguous', route: null, why }, candidates };
    }
    const losers = matches.slice(1);
    candidates.unshift({ route: best, outcome: 'chosen', why: 'the most specific route that matches' });
    for (const route of losers) candidates.push({ route, outcome: 'less_specific', why: `less specific than ${best.label} (${rankWords(route.target, best.target)})` });
    const why = `rule ${best.label}${losers.length ? `, more specific than ${losers.map((l) => l.label).join(', ')}` : ''}`;
    return { decision: { inject: true, kind: 'inject', route: best, why }, candidates };
  }
}

function toRoute(spec: RouteSpec, rule: RouteRule): Route {
  const target = parseRouteTarget(rule.url);
  // The label keeps the route as written (the audit entry's `routes` lists these); `rule` is its normal form.
  const label = `${spec.provider} (${spec.connection}) → ${rule.url}`;
  return {
    spec, rule, target, host: target.kind === 'exact' ? target.host : null, port: target.port, pathPrefix: target.pathPrefix, headers: rule.headers,
    label, normalized: describeTarget(target, rule.url),
  };
}

/** Why `loser` lost to `winner`, in words. */
function rankWords(loser: RouteTarget, winner: RouteTarget): string {
  const [lk, ll] = specificity(loser);
  const [wk, wl] = specificity(winner);
  if (lk !== wk) return `${kindWord(winner)} beats ${kindWord(loser)}`;
  if (ll !== wl) return 'a longer wildcard domain wins';
  return 'a longer path prefix wins';
}

function kindWord(target: RouteTarget): string {
  return target.kind === 'exact' ? 'an exact host' : target.kind === 'wildcard' ? 'a wildcard host' : 'a host pattern';
}

/** "/oauth/token/" is the same endpoint as "/oauth/token". */
function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
