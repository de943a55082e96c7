// Token revocation: tell the provider to forget a token before we forget it locally, in the
// provider's dialect (oauth.revocation): RFC 7009's form POST (§2.1), a JSON body, the token as
// its own bearer credential (Dropbox, Slack), or a DELETE that names the token in the path.
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import type { OAuthClient } from './client.ts';
import { OAuthError, toOAuthError } from './errors.ts';
import type { ResolvedServer } from './server.ts';
import type { OAuthTransport } from './transport.ts';

export type RevocationStyle = 'rfc7009' | 'json' | 'bearer';
export type RevokedToken = 'refresh_token' | 'access_token';

/** The dialect a definition revokes in: its oauth.revocation, else RFC 7009 (JSON for a JSON provider, as before). */
export function revocationStyleOf(definition: ProviderDefinition): RevocationStyle {
  const o = definition.oauth;
  return o?.revocation?.style ?? (o?.token_request_encoding === 'json' ? 'json' : 'rfc7009');
}

/**
 * Whether the revocation is authenticated by the OAuth client: not a bearer one (the token is its
 * own credential) nor one that names the token in its URL (a DELETE, a `{token}` path), which
 * carry no body for client credentials.
 */
export function revocationNeedsClient(definition: ProviderDefinition, endpoint = definition.oauth?.revocation_url ?? ''): boolean {
  const settings = definition.oauth?.revocation;
  return !(revocationStyleOf(definition) === 'bearer' || settings?.method === 'DELETE' || /\{token\}|%7Btoken%7D/i.test(endpoint));
}

/** Which of a connection's tokens to revoke: the definition's choice, else the refresh token (it ends the whole grant, RFC 7009 §2.1), for bearer the access token. */
export function tokenToRevoke(definition: ProviderDefinition, tokens: { access_token: string | null; refresh_token: string | null }): { token: string; hint: RevokedToken } | null {
  const chosen = definition.oauth?.revocation?.token;
  const order: RevokedToken[] = chosen ? [chosen] : revocationStyleOf(definition) === 'bearer' ? ['access_token', 'refresh_token'] : ['refresh_token', 'access_token'];
  for (const hint of order) {
    const token = tokens[hint];
    if (token) return { token, hint };
  }
  return null;
}

export async function revokeToken(
  definition: ProviderDefinition,
  server: ResolvedServer,
  /** The client, which authenticates every dialect but bearer (null: none is known). */
  client: OAuthClient | null,
  token: string,
  hint: RevokedToken,
  transport: OAuthTransport,
): Promise<void> {
  const what = `the revocation endpoint of ${definition.name}`;
  const settings = definition.oauth?.revocation;
  const style = revocationStyleOf(definition);
  const headers = { ...(settings?.headers ?? {}) };
  transport.secret(token);
  try {
    const template = server.as.revocation_endpoint!;
    if (!revocationNeedsClient(definition, template)) {
      return await revokeDirectly(template, token, style, settings?.method ?? 'POST', headers, transport, what);
    }
    if (!client) throw new OAuthError('authentication_failed', `${what} needs the OAuth client to authenticate the revocation`, { error: 'invalid_client' });
    // The transport sends a JSON provider's request as JSON. Such a provider speaks its own dialect,
    // not RFC 7009, and documents exactly {"token", "client_id", "client_secret"}: the optional
    // token_type_hint (§2.1) is left out rather than risk a strict validator's 400.
    const response = await oauth.revocationRequest(server.as, client.client, client.auth, token, {
      ...transport.options(template, 'revocation'),
      additionalParameters: style === 'json' ? {} : { token_type_hint: hint },
      headers,
    });
    await checkRevocationAnswer(response, what);
  } catch (error) {
    throw toOAuthError(error, what, 'authentication_failed', { provider: definition.name });
  }
}

/**
 * A request oauth4webapi does not build: the token as the bearer credential of the call (no body,
 * no client authentication: the token proves itself), or a DELETE naming it in the path.
 */
async function revokeDirectly(
  template: string, token: string, style: RevocationStyle, method: 'POST' | 'DELETE',
  headers: Record<string, string>, transport: OAuthTransport, what: string,
): Promise<void> {
  const encoded = encodeURIComponent(token);
  transport.secret(encoded);
  const url = template.replace(/\{token\}|%7Btoken%7D/gi, encoded);
  const init: RequestInit = { method, headers: { ...headers, accept: 'application/json' } };
  if (style === 'bearer') (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
  const response = await transport.options(url, 'revocation')[oauth.customFetch](url, init);
  await checkRevocationAnswer(response, what);
}

/**
 * Any 2xx has revoked (RFC 7009 §2.2 says 200; 204 No Content is common) — except a JSON answer
 * that says `"ok": false`: Slack reports every Web API failure (`invalid_auth`, `not_bearer_token`)
 * with HTTP 200 and {"ok": false, "error": …}.
 */
async function checkRevocationAnswer(response: Response, what: string): Promise<void> {
  if (response.status >= 200 && response.status < 300) {
    const body = await response.clone().json().catch(() => null) as Record<string, unknown> | null;
    if (body && typeof body === 'object' && body.ok === false) {
      const error = typeof body.error === 'string' ? body.error : 'ok_false';
      throw new OAuthError('authentication_failed', `${what} answered ${error} (HTTP ${response.status}, "ok": false)`, { error, status: response.status, fromProvider: true });
    }
    return;
  }
  await oauth.processRevocationResponse(response); // throws: an OAuth error, or an unexpected status
}
