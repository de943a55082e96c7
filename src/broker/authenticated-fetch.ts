// The library's fetch(): a WHATWG fetch that adds, to each request, the credential the route table
// chooses for its URL — the decision `run`'s proxy makes, header, query parameter or Basic pair,
// with the route's fixed headers — renewed first when due, and after an upstream 401 renewed and
// sent again once, within the proxy's bounds (CredentialCache: one refresh per token generation,
// none for a token under a minute old). Redirects are followed here, each hop decided afresh, so a
// credential never follows a redirect to a host its routes do not name.
import { withoutInjectedQuery } from './echo-scrub.ts';
import { AuthsomeError } from '../util/index.ts';
import type { CredentialCache } from './credential-cache.ts';
import type { Injection } from './proxy-support.ts';
import type { RequestCredential } from './request-headers.ts';

/** What one hop of a request is sent with: the chosen connection and route, or nothing. */
export interface HopChoice {
  provider: string;
  connection: string;
  extraHeaders: Record<string, string>;
}

export interface FetchDependencies {
  /** The route decision for a URL; throws (notCovered) when nothing would be injected. */
  decide(url: string): Promise<Pick<RequestCredential, 'provider' | 'connection' | 'extraHeaders'>>;
  credentials: CredentialCache;
  /** The transport (globalThis.fetch unless the caller brings its own, an undici dispatcher's say). */
  fetch: typeof globalThis.fetch;
  log(line: string): void;
}

/** The fetch standard's limit (§4.4 HTTP-redirect fetch, step 5). */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A response and what was sent to get it: for a door that must take the credential out of the answer. */
export interface AuthenticatedResponse {
  response: Response;
  /** The first request's route decision. */
  provider: string;
  connection: string;
  /** Every credential the request carried (the first, one after a refresh, a redirect's hops): what an echo must not give back. */
  injections: Injection[];
  /** It was sent again after a 401 and a refresh. */
  retried: boolean;
}

export async function authenticatedFetch(deps: FetchDependencies, input: string | URL | Request, init?: RequestInit): Promise<AuthenticatedResponse> {
  let request: Request;
  try {
    request = new Request(input, init);
  } catch (error) {
    throw new AuthsomeError('usage', `fetch: ${(error as Error).message}`, { hint: 'Give a whole https URL: authsome.fetch("https://api.example.com/v1/models")' });
  }
  // The body is held so it can be sent again: after a refresh, and on a 307/308 redirect.
  const body = request.body ? await request.arrayBuffer() : null;
  const mode = request.redirect;
  let url = request.url;
  let method = request.method;
  let sentBody = body;
  const callerHeaders = new Headers(request.headers);
  const injections: Injection[] = [];
  let first: HopChoice | null = null;
  let retried = false;
  for (let hop = 0; ; hop++) {
    // The first URL must be covered (an authenticated fetch that silently sent nothing would be
    // a bug hidden until the 401); a redirect's target gets a credential only if it is covered.
    const choice = await deps.decide(url).catch((error: unknown) => {
      if (hop === 0) throw error;
      return null;
    });
    const send = (injection: Injection | null) => deps.fetch(withCredential(url, injection), {
      method, headers: headersFor(callerHeaders, choice, injection), body: sentBody, redirect: mode === 'follow' ? 'manual' : mode, signal: request.signal,
    });
    first ??= choice;
    let injection = choice ? await deps.credentials.get({ spec: choice }) : null;
    if (injection) injections.push(injection);
    let response = await send(injection);
    if (response.status === 401 && choice && injection?.oauth) {
      const renewal = await deps.credentials.renewAfter401({ spec: choice }, injection);
      if (renewal.injection) {
        await response.body?.cancel().catch(() => undefined);
        injection = renewal.injection;
        injections.push(injection);
        retried = true;
        response = await send(injection);
      } else {
        deps.log(`fetch: ${originAndPath(url)} answered 401 and ${choice.provider} (${choice.connection}) was not renewed (${renewal.why}); the 401 is returned`);
      }
    }
    const location = response.headers.get('location');
    if (mode !== 'follow' || !REDIRECTS.has(response.status) || location === null) {
      return { response, provider: first!.provider, connection: first!.connection, injections, retried };
    }
    if (hop >= MAX_REDIRECTS) throw new AuthsomeError('usage', `fetch: more than ${MAX_REDIRECTS} redirects from ${originAndPath(request.url)}`);
    await response.body?.cancel().catch(() => undefined);
    // A redirect that repeats the request's query must not carry an injected key to wherever it
    // points (a host no route names would get it as it stands): the key is added again only where
    // a route covers the next hop, as the proxy strips it from a Location for the child.
    const next = new URL(injection ? withoutInjectedQuery(location, injection) : location, url);
    // Fetch standard §4.4: 303 (and 301/302 after a POST) becomes a GET without a body; a
    // cross-origin hop drops the caller's own Authorization.
    if (response.status === 303 ? method !== 'HEAD' : (response.status === 301 || response.status === 302) && method === 'POST') {
      method = 'GET';
      sentBody = null;
      for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) callerHeaders.delete(name);
    }
    if (next.origin !== new URL(url).origin) callerHeaders.delete('authorization');
    url = next.href;
  }
}

/** The caller's headers, the route's fixed headers where the caller set none, and the credential's. */
function headersFor(caller: Headers, choice: HopChoice | null, injection: Injection | null): Headers {
  const headers = new Headers(caller);
  for (const [name, value] of Object.entries(choice?.extraHeaders ?? {})) if (!headers.has(name)) headers.set(name, value);
  for (const [name, value] of Object.entries(injection?.headers ?? {})) headers.set(name, value);
  return headers;
}

function withCredential(url: string, injection: Injection | null): string {
  if (!injection || Object.keys(injection.query).length === 0) return url;
  const u = new URL(url);
  for (const [name, value] of Object.entries(injection.query)) u.searchParams.set(name, value);
  return u.href;
}

/** Logged without the query: keys travel there. */
function originAndPath(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
