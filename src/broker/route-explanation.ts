// `authsome route <url>` and `Authsome.route()`: for one URL, which provider and connection a
// request through `run` would carry, how (header and scheme, query parameter, Basic pair, fixed
// headers; the value masked), and why every other route on that host was not chosen. The run's
// own table (connected providers) decides, exactly as the proxy does; the rest of the catalogue is
// checked beside it, so a route of a provider with no connection is named too. No network.
import type { ProviderDefinition } from '../providers/index.ts';
import { maskSecret } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import { credentialShape, credentialValue } from './credentials.ts';
import type { RouteSpec } from './proxy-support.ts';
import { RouteTable, type Candidate, type Route } from './route-table.ts';

export type RouteDecision = 'inject' | 'not_connected' | 'ambiguous' | 'no_route' | 'own_endpoint' | 'other_port' | 'plain_http';

export interface InjectionView {
  auth_type: string;
  /** Where the credential goes; `headers`: several headers, each a template (header_templates). */
  location: 'header' | 'query' | 'basic' | 'headers';
  header: string | null;
  /** The scheme before the value (`Bearer`, `Basic`, `Klaviyo-API-Key`), or null for a bare value. */
  scheme: string | null;
  query_param: string | null;
  /** With `basic`: how the key becomes user:password. */
  basic_template: string | null;
  /** With `headers`: each header and the template its value is made from ({key}, {account_sid}…). */
  header_templates: Record<string, string> | null;
  /** The credential, masked (`sk-****`); null without a connection. */
  value: string | null;
  /** Fixed headers of the route, added when the request has none of that name. */
  extra_headers: Record<string, string>;
}

export interface RouteCandidateView {
  provider: string;
  /** null when the provider has no connection to route. */
  connection: string | null;
  rule: string;
  chosen: boolean;
  outcome: Candidate['outcome'] | 'not_connected' | 'not_routed';
  why: string;
}

export interface RouteExplanation {
  url: string;
  host: string;
  port: number;
  path: string;
  decision: RouteDecision;
  provider: string | null;
  connection: string | null;
  rule: string | null;
  /** The chosen connection's state (`connected`, `expired`, …). */
  status: string | null;
  why: string;
  injection: InjectionView | null;
  candidates: RouteCandidateView[];
}

/** A provider of the catalogue that `run` would not route, and why (no connection, or the reason it was left out). */
export interface Unrouted {
  spec: RouteSpec;
  /** Whether it has a connection (`run` leaves it out for another reason), or none at all. */
  connected: boolean;
  why: string;
}

export interface ExplainInput {
  url: URL;
  path: string;
  routed: RouteSpec[];
  unrouted: Unrouted[];
  /** The chosen route's definition and record, read only when a route is chosen. */
  lookup(route: Route): Promise<{ definition: ProviderDefinition | null; record: ConnectionRecord | null; status: string | null }>;
  definitionOf(provider: string): ProviderDefinition | null;
}

export async function explainRoute(input: ExplainInput): Promise<RouteExplanation> {
  const { url, path } = input;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const https = url.protocol === 'https:';
  const port = Number(url.port) || (https ? 443 : 80);
  const base = { url: url.href, host, port, path };
  const run = new RouteTable(input.routed).explain(host, port, path);
  const unroutedBySpec = new Map(input.unrouted.map((u) => [u.spec, u]));
  const all = new RouteTable([...input.routed, ...input.unrouted.map((u) => u.spec)]).explain(host, port, path);
  const view = (c: Candidate, chosen: boolean): RouteCandidateView => {
    const unrouted = unroutedBySpec.get(c.route.spec);
    return {
      provider: c.route.spec.provider,
      connection: unrouted ? null : c.route.spec.connection,
      rule: ruleOf(c.route),
      chosen,
      outcome: unrouted && c.outcome !== 'other_port' && c.outcome !== 'other_path' ? (unrouted.connected ? 'not_routed' : 'not_connected') : c.outcome,
      why: unrouted ? `${unrouted.why}${c.outcome === 'chosen' ? '' : `; ${c.why}`}` : c.why,
    };
  };
  const runViews = run.candidates.map((c) => view(c, c.outcome === 'chosen'));
  // The catalogue's routes: the one named as the answer (no connected provider matched) is the chosen one.
  const named = run.decision.kind === 'no_route' && all.decision.inject ? all.decision.route : null;
  const others = all.candidates.filter((c) => unroutedBySpec.has(c.route.spec)).map((c) => {
    const v = view(c, c.route === named);
    if (run.decision.inject && (c.outcome === 'chosen' || c.outcome === 'tied')) v.why += ` (its route is at least as specific as ${run.decision.route.label}, but only connected providers take part)`;
    return v;
  });
  const candidates = [...runViews, ...others];
  if (!https) {
    return { ...base, decision: 'plain_http', provider: null, connection: null, rule: null, status: null, why: 'plain http:// requests are forwarded untouched: credentials never travel unencrypted', injection: null, candidates };
  }
  if (run.decision.inject) {
    const route = run.decision.route;
    const { definition, record, status } = await input.lookup(route);
    return {
      ...base, decision: 'inject', provider: route.spec.provider, connection: route.spec.connection, rule: ruleOf(route), status, why: run.decision.why,
      injection: describeInjection(definition, record, route.spec.auth_type, route.headers), candidates,
    };
  }
  if (run.decision.kind === 'own_endpoint' || run.decision.kind === 'ambiguous') {
    return { ...base, decision: run.decision.kind, provider: null, connection: null, rule: null, status: null, why: run.decision.why, injection: null, candidates };
  }
  if (all.decision.inject) {
    const route = all.decision.route;
    const provider = route.spec.provider;
    return {
      ...base, decision: 'not_connected', provider, connection: null, rule: ruleOf(route), status: null,
      why: `${ruleOf(route)} of ${provider} matches, but ${unroutedBySpec.get(route.spec)?.why}`,
      injection: describeInjection(input.definitionOf(provider), null, route.spec.auth_type, route.headers), candidates,
    };
  }
  const variant = all.decision.kind === 'ambiguous' ? variantChoice(all.candidates, unroutedBySpec, input.definitionOf) : null;
  if (variant) {
    const provider = variant.chosen.spec.provider;
    const others = variant.others.join(', ');
    return {
      ...base, decision: 'not_connected', provider, connection: null, rule: ruleOf(variant.chosen), status: null,
      why: `${ruleOf(variant.chosen)} of ${provider} matches, but ${unroutedBySpec.get(variant.chosen.spec)?.why}; ${others} claim${variant.others.length > 1 ? '' : 's'} it too, as another way to log in to ${variant.family}: whichever is connected carries the request`,
      injection: describeInjection(input.definitionOf(provider), null, variant.chosen.spec.auth_type, variant.chosen.headers),
      candidates: candidates.map((c) => ({ ...c, chosen: c.provider === provider && c.rule === ruleOf(variant.chosen) })),
    };
  }
  if (all.decision.kind === 'own_endpoint' || all.decision.kind === 'ambiguous') {
    return { ...base, decision: all.decision.kind, provider: null, connection: null, rule: null, status: null, why: all.decision.why, injection: null, candidates };
  }
  const elsewhere = candidates.some((c) => c.outcome === 'other_port');
  return {
    ...base, decision: elsewhere ? 'other_port' : 'no_route', provider: null, connection: null, rule: null, status: null,
    why: elsewhere ? `no route of ${host} is bound to port ${port}: a CONNECT there is a blind tunnel` : `no provider's route matches ${host}:${port}${path}`,
    injection: null, candidates,
  };
}

/**
 * A tie among providers none of which is connected, all of one API (`variant_of`: Klaviyo's OAuth
 * beside its private keys): not a guess between two accounts, since `run` only ever sees the
 * connected one, so the base provider is named. Null for any other tie.
 */
function variantChoice(
  candidates: Candidate[], unrouted: Map<RouteSpec, Unrouted>, definitionOf: (provider: string) => ProviderDefinition | null,
): { chosen: Route; others: string[]; family: string } | null {
  const tied = candidates.filter((c) => c.outcome === 'tied').map((c) => c.route);
  if (tied.length < 2 || tied.some((route) => unrouted.get(route.spec)?.connected !== false)) return null;
  const familyOf = (provider: string) => definitionOf(provider)?.variant_of ?? provider;
  const family = familyOf(tied[0]!.spec.provider);
  if (tied.some((route) => familyOf(route.spec.provider) !== family)) return null;
  const chosen = tied.find((route) => route.spec.provider === family) ?? tied[0]!;
  const others = [...new Set(tied.map((route) => route.spec.provider).filter((name) => name !== chosen.spec.provider))];
  return { chosen, others, family };
}

/** How a connection's credential travels, per its definition (credentialShape, as authHeaders sends it), the value masked. */
export function describeInjection(definition: ProviderDefinition | null, record: ConnectionRecord | null, authType: string, extra: Record<string, string>): InjectionView {
  const value = record ? maskSecret(credentialValue(record)) : null;
  const view: InjectionView = { auth_type: authType, location: 'header', header: null, scheme: null, query_param: null, basic_template: null, header_templates: null, value, extra_headers: { ...extra } };
  const shape = credentialShape(definition, authType, record?.token_type ?? null);
  switch (shape.location) {
    case 'query': return { ...view, location: 'query', query_param: shape.query_param };
    case 'basic': return { ...view, location: 'basic', header: 'Authorization', scheme: 'Basic', basic_template: shape.basic_template };
    case 'headers': return { ...view, location: 'headers', header_templates: shape.templates };
    case 'header': return { ...view, header: shape.header, scheme: shape.scheme };
  }
}

function ruleOf(route: Route): string {
  return route.normalized;
}
