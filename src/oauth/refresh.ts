// The refresh token grant (RFC 6749 §6). Only the wire exchange lives here; when to refresh,
// single flight and persistence are the broker's refresh protocol (refresh-protocol.md).
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import type { OAuthClient } from './client.ts';
import { toOAuthError } from './errors.ts';
import { setAsideUnverifiableIdToken } from './id-token.ts';
import type { ResolvedServer } from './server.ts';
import { checkTokenValues, idTokenClaims, type TokenResponse } from './tokens.ts';
import type { OAuthTransport } from './transport.ts';

/** Where a refresh grant for this server goes: the definition's refresh_url, else the token endpoint (§6). */
export function refreshEndpointOf(server: ResolvedServer): string | undefined {
  return server.refreshEndpoint ?? server.as.token_endpoint;
}

export async function refreshTokenGrant(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  refreshToken: string,
  transport: OAuthTransport,
): Promise<TokenResponse> {
  const endpoint = refreshEndpointOf(server)!;
  // oauth4webapi sends the grant to `token_endpoint`; a provider with a refresh_url gets it there.
  const as: oauth.AuthorizationServer = { ...server.as, token_endpoint: endpoint };
  try {
    const response = await oauth.refreshTokenGrantRequest(as, client.client, client.auth, refreshToken, transport.options(endpoint));
    const { response: checked, claims } = await setAsideUnverifiableIdToken(response, server);
    const tokens = checkTokenValues(await oauth.processRefreshTokenResponse(as, client.client, checked));
    return { tokens, claims: claims ?? idTokenClaims(tokens) };
  } catch (error) {
    throw toOAuthError(error, `the token endpoint of ${definition.name}`, 'refresh_failed', { provider: definition.name });
  }
}
