// Token revocation (RFC 7009): tell the provider to forget a token before we forget it locally.
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import type { OAuthClient } from './client.ts';
import { toOAuthError } from './errors.ts';
import type { ResolvedServer } from './server.ts';
import type { OAuthTransport } from './transport.ts';

export async function revokeToken(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  token: string,
  hint: 'refresh_token' | 'access_token',
  transport: OAuthTransport,
): Promise<void> {
  const endpoint = server.as.revocation_endpoint!;
  try {
    const response = await oauth.revocationRequest(server.as, client.client, client.auth, token, {
      ...transport.options(endpoint),
      additionalParameters: { token_type_hint: hint },
    });
    await oauth.processRevocationResponse(response);
  } catch (error) {
    throw toOAuthError(error, `the revocation endpoint of ${definition.name}`, 'authentication_failed', { provider: definition.name });
  }
}
