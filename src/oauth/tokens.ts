// Token endpoint responses (RFC 6749 §5.1) turned into what a connection record stores.
import * as oauth from 'oauth4webapi';
import { credentialProblem, displayText } from '../util/index.ts';

export interface TokenSet {
  access_token: string;
  refresh_token: string | null;
  token_type: string | null;
  /** Absolute expiry; null when neither the response nor the definition gives a lifetime. */
  expires_at: Date | null;
  obtained_at: Date;
  /** When the refresh token lapses if left unused; null when no refresh token, or nothing says. */
  refresh_expires_at: Date | null;
  /** Granted scopes (RFC 6749 §5.1: absent means "as requested"). */
  scopes: string[] | null;
  account: { id: string | null; label: string | null } | null;
}

/** A processed token response and the identity claims that came with it, if any. */
export interface TokenResponse {
  tokens: oauth.TokenEndpointResponse;
  claims: Record<string, unknown> | null;
}

export interface TokenSetOptions {
  requestedScopes?: readonly string[] | null | undefined;
  /** Seconds to assume when the response has no expires_in (provider's default_token_lifetime). */
  defaultLifetime?: number | null | undefined;
  /** Seconds a refresh token lives from issue (oauth.refresh_token_lifetime), when the response has no refresh_expires_in. */
  refreshLifetime?: number | null | undefined;
  /** Seconds a refresh token lives unused (oauth.refresh_token_idle_lifetime): this response starts the window again. */
  refreshIdleLifetime?: number | null | undefined;
  /** A refresh answer without a refresh token: the record keeps the one it has (RFC 6749 §6). */
  keepsRefreshToken?: boolean;
  /** The record's refresh_expires_at before this refresh: it stands for a refresh token that was not rotated. */
  previousRefreshExpiresAt?: Date | null | undefined;
  now?: Date;
}

/** No lifetime is longer: a larger one (1e300) would make a date no timestamp can hold. */
const MAX_SECONDS = 100 * 365 * 86400;

/**
 * Seconds as a number: RFC 6749 says number; some providers send a string ("3600"). Accept both,
 * up to a century; anything else is as if absent — never a reason to fail storing a rotated pair.
 */
function seconds(raw: unknown): number | undefined {
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,12}$/.test(raw) ? Number(raw) : undefined;
  return value !== undefined && Number.isFinite(value) && value >= 0 && value <= MAX_SECONDS ? value : undefined;
}

/**
 * When the refresh token of this response lapses. `refresh_expires_in` (Keycloak, Airtable; not in
 * RFC 6749) wins; else a new refresh token lives the definition's refresh_token_lifetime and a
 * refresh token kept from before keeps its end; a documented idle window ends it sooner unless
 * used, and this response is a use.
 */
function refreshEnd(response: oauth.TokenEndpointResponse, hasRefreshToken: boolean, options: TokenSetOptions, now: Date): Date | null {
  if (!hasRefreshToken) return null;
  const fromResponse = seconds(response.refresh_expires_in);
  const rotated = typeof response.refresh_token === 'string';
  let end: number | null;
  if (fromResponse !== undefined) end = now.getTime() + fromResponse * 1000;
  else if (rotated || !options.previousRefreshExpiresAt) end = options.refreshLifetime ? now.getTime() + options.refreshLifetime * 1000 : null;
  // A kept refresh token keeps its end — unless only an idle window set it, which this use restarts below.
  else end = options.refreshIdleLifetime && !options.refreshLifetime ? null : options.previousRefreshExpiresAt.getTime();
  if (options.refreshIdleLifetime) end = Math.min(end ?? Infinity, now.getTime() + options.refreshIdleLifetime * 1000);
  return end === null ? null : new Date(end);
}

export function toTokenSet({ tokens: response, claims }: TokenResponse, options: TokenSetOptions = {}): TokenSet {
  const now = options.now ?? new Date();
  const expiresIn = seconds(response.expires_in);
  const lifetime = expiresIn ?? options.defaultLifetime ?? undefined;
  const scope = typeof response.scope === 'string' ? response.scope.split(/[\s,]+/).filter(Boolean) : null;
  return {
    access_token: response.access_token,
    refresh_token: typeof response.refresh_token === 'string' ? response.refresh_token : null,
    token_type: typeof response.token_type === 'string' ? response.token_type : null,
    expires_at: lifetime !== undefined ? new Date(now.getTime() + lifetime * 1000) : null,
    obtained_at: now,
    refresh_expires_at: refreshEnd(response, typeof response.refresh_token === 'string' || Boolean(options.keepsRefreshToken), options, now),
    scopes: scope ?? (options.requestedScopes ? [...options.requestedScopes] : null),
    account: claims ? accountFromClaims(claims) : null,
  };
}

/**
 * The values of a token response, checked before anything stores, exports or sends them:
 * oauth4webapi checks their types, not their characters. access_token and refresh_token follow the
 * credential rule (RFC 6749 Appendix A.12, A.17; util/credential-text.ts), token_type is a name or
 * URI of printable characters (A.7), and each scope token is NQCHAR (A.4, RFC 6749 §3.3). A value
 * outside them is an invalid response, named by its field (never shown).
 */
export function checkTokenValues<T extends oauth.TokenEndpointResponse>(tokens: T): T {
  for (const field of ['access_token', 'refresh_token'] as const) {
    const value: unknown = tokens[field];
    if (typeof value !== 'string') continue;
    const problem = credentialProblem(value);
    if (problem) throw invalidResponse(`"response" body "${field}" property is not a usable credential: ${problem}`);
  }
  if (typeof tokens.token_type === 'string' && !/^[\x21-\x7e]{1,256}$/.test(tokens.token_type)) {
    throw invalidResponse('"response" body "token_type" property must be a name of printable ASCII characters (RFC 6749 Appendix A.7)');
  }
  if (typeof tokens.scope === 'string' && (tokens.scope.length > 8192 || !/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(tokens.scope))) {
    throw invalidResponse('"response" body "scope" property must be space-separated scope tokens of printable ASCII without \'"\' or \'\\\' (RFC 6749 Appendix A.4)');
  }
  return tokens;
}

/** A client registration's credentials (RFC 7591 §3.2.1), checked like tokens. */
export function checkClientValues(client: Record<string, unknown>): void {
  for (const field of ['client_id', 'client_secret', 'registration_access_token']) {
    const value = client[field];
    if (typeof value !== 'string') continue;
    const problem = credentialProblem(value);
    if (problem) throw invalidResponse(`"response" body "${field}" property is not a usable credential: ${problem}`);
  }
}

function invalidResponse(message: string): oauth.OperationProcessingError {
  return new oauth.OperationProcessingError(message, { code: oauth.INVALID_RESPONSE });
}

/** The claims of an id_token oauth4webapi has validated (iss, aud, exp, iat). */
export function idTokenClaims(response: oauth.TokenEndpointResponse): Record<string, unknown> | null {
  try {
    return (oauth.getValidatedIdTokenClaims(response) as Record<string, unknown> | undefined) ?? null;
  } catch {
    return null;
  }
}

/**
 * The account a token belongs to, from id_token claims or a userinfo answer (GitHub's /user too).
 * The provider's text is shown on terminals and pages: control characters and escape sequences
 * are stripped, and it is cut at 256 characters.
 */
export function accountFromClaims(claims: Record<string, unknown>): { id: string | null; label: string | null } {
  const pick = (...names: string[]): string | null => {
    for (const name of names) {
      const value = claims[name];
      if (typeof value === 'string' && displayText(value).trim()) return displayText(value).trim().slice(0, 256);
      if (typeof value === 'number') return String(value);
    }
    return null;
  };
  return { id: pick('sub', 'id', 'user_id'), label: pick('email', 'preferred_username', 'login', 'username', 'name') };
}

/** The `scope` (RFC 6749 §3.3) and `resource` (RFC 8707 §2) parameters of a grant request. */
export function grantParameters(definition: { oauth?: { resource?: string | null; scope_separator?: string | null } | null }, options: { scopes: readonly string[]; resource?: string | null }): Record<string, string> {
  const parameters: Record<string, string> = {};
  if (options.scopes.length) parameters.scope = joinScopes(definition, options.scopes);
  const resource = options.resource ?? definition.oauth?.resource;
  if (resource) parameters.resource = resource;
  return parameters;
}

/**
 * The scope parameter: RFC 6749 §3.3 joins scopes with spaces; Slack and Linear document a comma
 * (oauth.scope_separator). Granted scopes are read with either (toTokenSet).
 */
export function joinScopes(definition: { oauth?: { scope_separator?: string | null } | null }, scopes: readonly string[]): string {
  return scopes.join(definition.oauth?.scope_separator ?? ' ');
}
