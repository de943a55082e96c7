// The headers a request carries — for `authsome headers`, the library's requestHeaders() and
// fetch(), and the MCP server's requests: the credential the route table chooses for a URL (or a
// connection's own, without one), renewed first when due, with the chosen route's fixed headers.
import { AuthsomeError } from '../util/index.ts';
import type { Injection } from './proxy-support.ts';
import type { RouteExplanation } from './route-explanation.ts';

/** What `authsome headers` prints and `requestHeaders()` answers, with where the credential came from. */
export interface RequestHeaders {
  provider: string;
  connection: string;
  /** The route that chose the connection (`https://api.example.com`); null when asked without a URL. */
  rule: string | null;
  /** Header names to values: the route's fixed headers and the credential's (Claude Code's headersHelper shape). */
  headers: Record<string, string>;
}

/** A URL's route decision and the credential it injects (what fetch() and the MCP server send). */
export interface RequestCredential {
  provider: string;
  connection: string;
  rule: string;
  /** The route's fixed headers, added when a request has none of that name. */
  extraHeaders: Record<string, string>;
  injection: Injection;
}

/**
 * The error for a URL the route decision gives no credential: the same outcome — and exit code —
 * `authsome route` reports (5 when the matching provider has no connection, 3 otherwise), its reason named.
 */
export function notCovered(explained: RouteExplanation): AuthsomeError {
  // Without the query: a key may travel there, and this message is printed and logged.
  const target = auditedUrl(explained.url);
  if (explained.decision === 'not_connected') {
    return new AuthsomeError('credential_missing', `no credential is added to ${target}: ${explained.why}`, {
      hint: `Log in first: authsome login ${explained.provider}`, provider: explained.provider ?? undefined,
    });
  }
  return new AuthsomeError('provider_not_found', `no connection's route covers ${target}: ${explained.why}`, {
    hint: `See every route on that host with: authsome route ${target}`,
  });
}

/**
 * The headers an injection puts on a request. A credential that travels in the query string
 * cannot be carried by headers: that is an error with the way that does carry it, never a
 * header set without the credential.
 */
export function headersOf(injection: Injection, extra: Record<string, string>, who: { provider: string; connection: string }): Record<string, string> {
  const params = Object.keys(injection.query);
  if (params.length) {
    throw new AuthsomeError('flow_unsupported', `${who.provider} (${who.connection}) sends its credential as the query parameter ${params.join(', ')}, which headers cannot carry`, {
      hint: 'Let authsome add it to each URL: authsome run -- <command>, or authsome.fetch(url) in the library',
      provider: who.provider, connection: who.connection,
    });
  }
  // The credential's headers win over a fixed header of the same name (the proxy sends both the same way).
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(extra)) {
    if (!Object.keys(injection.headers).some((n) => n.toLowerCase() === name.toLowerCase())) headers[name] = value;
  }
  return { ...headers, ...injection.headers };
}

/** The URL as the audit log keeps it: origin and path, never the query (API keys travel there). */
export function auditedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
