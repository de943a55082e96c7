// Authorization code + PKCE (RFC 6749 §4.1, RFC 7636 S256): build the authorization URL, then
// validate the callback (state; RFC 9207 `iss` when the issuer is known) and redeem the code.
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import type { OAuthClient } from './client.ts';
import { toOAuthError } from './errors.ts';
import { setAsideUnverifiableIdToken } from './id-token.ts';
import { idTokenClaims, type TokenResponse } from './tokens.ts';
import type { ResolvedServer } from './server.ts';
import type { OAuthTransport } from './transport.ts';
import { AuthsomeError } from '../util/index.ts';

export interface AuthorizationRequest {
  url: string;
  state: string;
  codeVerifier: string;
  redirectUri: string;
  resource: string | null;
}

export async function buildAuthorizationRequest(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  options: { redirectUri: string; scopes: readonly string[]; resource?: string | null },
): Promise<AuthorizationRequest> {
  const endpoint = server.as.authorization_endpoint;
  if (!endpoint) throw new AuthsomeError('provider_invalid', `${definition.name} has no authorization endpoint`, { provider: definition.name });
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(endpoint);
  // Provider extras first, so the protocol parameters below can never be overridden by them.
  for (const [name, value] of Object.entries(definition.oauth?.authorize_params ?? {})) url.searchParams.set(name, value);
  url.searchParams.set('client_id', client.client.client_id);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', options.redirectUri);
  if (options.scopes.length) url.searchParams.set('scope', options.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  const resource = options.resource ?? definition.oauth?.resource ?? null;
  if (resource) url.searchParams.set('resource', resource); // RFC 8707 §2
  return { url: url.href, state, codeVerifier, redirectUri: options.redirectUri, resource };
}

/** Checks the callback parameters and exchanges the code; errors name the provider's answer. */
export async function redeemAuthorizationCode(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  request: AuthorizationRequest,
  callback: URLSearchParams,
  transport: OAuthTransport,
): Promise<TokenResponse> {
  const params = new URLSearchParams(callback);
  if (!server.issuerVerified) params.delete('iss'); // RFC 9207 §2.4: unknown issuer → ignore iss
  let validated: URLSearchParams;
  try {
    validated = oauth.validateAuthResponse(server.as, client.client, params, request.state);
  } catch (error) {
    const e = error as { error?: string; message?: string };
    if (e.error) throw toOAuthError(error, definition.name, 'authentication_failed', { provider: definition.name });
    throw new AuthsomeError('authentication_failed', `the authorization response from ${definition.name} was rejected: ${e.message}`, { provider: definition.name, cause: error });
  }
  const endpoint = server.as.token_endpoint!;
  try {
    const response = await oauth.authorizationCodeGrantRequest(server.as, client.client, client.auth, validated, request.redirectUri, request.codeVerifier, {
      ...transport.options(endpoint),
      ...(request.resource ? { additionalParameters: { resource: request.resource } } : {}),
    });
    const { response: checked, claims } = await setAsideUnverifiableIdToken(response, server);
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, client.client, checked, { requireIdToken: false });
    return { tokens, claims: claims ?? idTokenClaims(tokens) };
  } catch (error) {
    throw toOAuthError(error, `the token endpoint of ${definition.name}`, 'authentication_failed', { provider: definition.name });
  }
}
