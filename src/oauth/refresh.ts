// The refresh token grant (RFC 6749 §6). Only the wire exchange lives here; when to refresh,
// single flight and persistence are the broker's refresh protocol (refresh-protocol.md).
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import type { OAuthClient } from './client.ts';
import { toOAuthError } from './errors.ts';
import { setAsideUnverifiableIdToken } from './id-token.ts';
import type { ResolvedServer } from './server.ts';
import { idTokenClaims, type TokenResponse } from './tokens.ts';
import type { OAuthTransport } from './transport.ts';

export async function refreshTokenGrant(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  refreshToken: string,
  transport: OAuthTransport,
): Promise<TokenResponse> {
  const endpoint = server.as.token_endpoint!;
  try {
    const response = await oauth.refreshTokenGrantRequest(server.as, client.client, client.auth, refreshToken, transport.options(endpoint));
    const { response: checked, claims } = await setAsideUnverifiableIdToken(response, server);
    const tokens = await oauth.processRefreshTokenResponse(server.as, client.client, checked);
    return { tokens, claims: claims ?? idTokenClaims(tokens) };
  } catch (error) {
    throw toOAuthError(error, `the token endpoint of ${definition.name}`, 'refresh_failed', { provider: definition.name });
  }
}
