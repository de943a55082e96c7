// Authorization code + PKCE (RFC 6749 §4.1, RFC 7636 S256): build the authorization URL, then
// validate the callback (state; RFC 9207 `iss` when the issuer is known) and redeem the code.
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import type { OAuthClient } from './client.ts';
import { toOAuthError } from './errors.ts';
import { setAsideUnverifiableIdToken } from './id-token.ts';
import { checkTokenValues, idTokenClaims, joinScopes, type TokenResponse } from './tokens.ts';
import type { ResolvedServer } from './server.ts';
import type { OAuthTransport } from './transport.ts';
import { AuthsomeError } from '../util/index.ts';

export interface AuthorizationRequest {
  url: string;
  state: string;
  /** Null when the definition says the provider does not support PKCE (oauth.pkce_support). */
  codeVerifier: string | null;
  redirectUri: string;
  resource: string | null;
}

export async function buildAuthorizationRequest(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  options: { redirectUri: string; scopes: readonly string[]; resource?: string | null; prompt?: string },
): Promise<AuthorizationRequest> {
  const endpoint = server.as.authorization_endpoint;
  if (!endpoint) throw new AuthsomeError('provider_invalid', `${definition.name} has no authorization endpoint`, { provider: definition.name });
  const pkce = definition.oauth?.pkce_support ?? 'optional';
  const methods = server.as.code_challenge_methods_supported;
  // RFC 7636 §4.2: a server that publishes its methods without S256 cannot be given a challenge we
  // trust; where the provider is known to require PKCE, refusing is better than a login without it.
  if (pkce === 'required' && Array.isArray(methods) && !methods.includes('S256')) {
    throw new AuthsomeError('provider_invalid', `${definition.name} requires PKCE, but its authorization server does not offer S256 (code_challenge_methods_supported: ${methods.join(', ') || 'none'})`, {
      hint: 'Check oauth.issuer in the definition: authsome inspect ' + definition.name, provider: definition.name,
    });
  }
  const codeVerifier = pkce === 'unsupported' ? null : oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(endpoint);
  // Provider extras first, so the protocol parameters below can never be overridden by them.
  for (const [name, value] of Object.entries(definition.oauth?.authorize_params ?? {})) url.searchParams.set(name, value);
  url.searchParams.set('client_id', client.client.client_id);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', options.redirectUri);
  if (options.scopes.length) url.searchParams.set('scope', joinScopes(definition, options.scopes));
  url.searchParams.set('state', state);
  // OIDC Core §3.1.2.1 `prompt=consent` (a re-consent for other scopes); servers that do not know
  // it ignore it (RFC 6749 §3.1). A provider's own authorize_params prompt stands.
  if (options.prompt && !url.searchParams.has('prompt')) url.searchParams.set('prompt', options.prompt);
  // RFC 7636 §4.3. Without PKCE (a provider that rejects it), state alone binds the callback.
  if (codeVerifier) {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  const resource = options.resource ?? definition.oauth?.resource ?? null;
  if (resource) url.searchParams.set('resource', resource); // RFC 8707 §2
  return { url: url.href, state, codeVerifier, redirectUri: options.redirectUri, resource };
}

/**
 * Checks the callback parameters (state; `iss` per RFC 9207; the provider's error, such as
 * access_denied, RFC 6749 §4.1.2.1): the parameters to redeem, or an error naming its answer.
 */
export function validateAuthorizationCallback(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  request: AuthorizationRequest,
  callback: URLSearchParams,
): URLSearchParams {
  const params = new URLSearchParams(callback);
  if (!server.issuerVerified) params.delete('iss'); // RFC 9207 §2.4: unknown issuer → ignore iss
  try {
    return oauth.validateAuthResponse(server.as, client.client, params, request.state);
  } catch (error) {
    const e = error as { error?: string; message?: string };
    if (e.error) throw toOAuthError(error, definition.name, 'authentication_failed', { provider: definition.name });
    throw new AuthsomeError('authentication_failed', `the authorization response from ${definition.name} was rejected: ${e.message}`, { provider: definition.name, cause: error });
  }
}

/** Redeems a validated code at the token endpoint (RFC 6749 §4.1.3, with the PKCE verifier). */
export async function exchangeAuthorizationCode(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  request: AuthorizationRequest,
  validated: URLSearchParams,
  transport: OAuthTransport,
): Promise<TokenResponse> {
  const endpoint = server.as.token_endpoint!;
  try {
    const response = await oauth.authorizationCodeGrantRequest(server.as, client.client, client.auth, validated, request.redirectUri, request.codeVerifier ?? oauth.nopkce, {
      ...transport.options(endpoint),
      ...(request.resource ? { additionalParameters: { resource: request.resource } } : {}),
    });
    const { response: checked, claims } = await setAsideUnverifiableIdToken(response, server);
    const tokens = checkTokenValues(await oauth.processAuthorizationCodeResponse(server.as, client.client, checked, { requireIdToken: false }));
    return { tokens, claims: claims ?? idTokenClaims(tokens) };
  } catch (error) {
    throw toOAuthError(error, `the token endpoint of ${definition.name}`, 'authentication_failed', { provider: definition.name });
  }
}
