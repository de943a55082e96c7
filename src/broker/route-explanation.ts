// `authsome route <url>` and `Authsome.route()`: for one URL, which provider and connection a
// request through `run` would carry, how (header and scheme, query parameter, Basic pair, fixed
// headers; the value masked), and why every other route on that host was not chosen. The run's
// own table (connected providers) decides, exactly as the proxy does; the rest of the catalogue is
// checked beside it, so a route of a provider with no connection is named too. No network.
import type { ProviderDefinition } from '../providers/index.ts';
import { maskSecret } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import { credentialValue } from './credentials.ts';
import type { RouteSpec } from './proxy-support.ts';
import { RouteTable, type Candidate, type Route } from './route-table.ts';

export type RouteDecision = 'inject' | 'not_connected' | 'ambiguous' | 'no_route' | 'own_endpoint' | 'other_port' | 'plain_http';

export interface InjectionView {
  auth_type: string;
  /** Where the credential goes. */
  location: 'header' | 'query' | 'basic';
  header: string | null;
  /** The scheme before the value (`Bearer`, `Basic`, `Klaviyo-API-Key`), or null for a bare value. */
  scheme: string | null;
  query_param: string | null;
  /** With `basic`: how the key becomes user:password. */
  basic_template: string | null;
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
  definition: ProviderDefinition;
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
  const whyUnrouted = new Map(input.unrouted.map((u) => [u.spec.provider, u.why]));
  const catalogue = new RouteTable(input.unrouted.map((u) => u.spec));
  const all = new RouteTable([...input.routed, ...input.unrouted.map((u) => u.spec)]).explain(host, port, path);
  const view = (c: Candidate, chosen: boolean): RouteCandidateView => {
    const unrouted = catalogue.routes.some((r) => r.spec === c.route.spec);
    return {
      provider: c.route.spec.provider,
      connection: unrouted ? null : c.route.spec.connection,
      rule: ruleOf(c.route),
      chosen,
      outcome: unrouted && c.outcome !== 'other_port' && c.outcome !== 'other_path' ? (whyUnrouted.get(c.route.spec.provider)?.startsWith('no connection') ? 'not_connected' : 'not_routed') : c.outcome,
      why: unrouted ? `${whyUnrouted.get(c.route.spec.provider)}${c.outcome === 'chosen' ? '' : `; ${c.why}`}` : c.why,
    };
  };
  const runViews = run.candidates.map((c) => view(c, c.outcome === 'chosen'));
  const others = all.candidates.filter((c) => catalogue.routes.some((r) => r.spec === c.route.spec)).map((c) => {
    const v = view(c, false);
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
      why: `${ruleOf(route)} of ${provider} matches, but ${whyUnrouted.get(provider)}`,
      injection: describeInjection(input.definitionOf(provider), null, route.spec.auth_type, route.headers), candidates,
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

/** How a connection's credential travels, per its definition, the value masked. */
export function describeInjection(definition: ProviderDefinition | null, record: ConnectionRecord | null, authType: string, extra: Record<string, string>): InjectionView {
  const value = record ? maskSecret(credentialValue(record)) : null;
  const view = { auth_type: authType, location: 'header' as InjectionView['location'], header: null, scheme: null, query_param: null, basic_template: null, value, extra_headers: { ...extra } };
  if (authType === 'oauth2') {
    const type = record?.token_type;
    return { ...view, header: 'Authorization', scheme: !type || type.toLowerCase() === 'bearer' ? 'Bearer' : type };
  }
  const apiKey = definition?.api_key;
  if (apiKey?.location === 'query') return { ...view, location: 'query', query_param: apiKey.query_param ?? null };
  if (apiKey?.location === 'basic') return { ...view, location: 'basic', header: 'Authorization', scheme: 'Basic', basic_template: apiKey.basic_template ?? '{key}' };
  const header = apiKey?.header_name ?? 'Authorization';
  const prefix = apiKey?.header_prefix ?? (header.toLowerCase() === 'authorization' ? 'Bearer' : '');
  return { ...view, location: 'header', header, scheme: prefix || null };
}

function ruleOf(route: Route): string {
  return route.normalized;
}
