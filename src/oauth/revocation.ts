// Token revocation (RFC 7009): tell the provider to forget a token before we forget it locally,
// in the provider's dialect — form-encoded per §2.1, or JSON for a provider whose token endpoints take JSON.
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
  // The transport sends a JSON provider's request as JSON. Such a provider speaks its own dialect,
  // not RFC 7009, and documents exactly {"token", "client_id", "client_secret"}: the optional
  // token_type_hint (§2.1) is left out rather than risk a strict validator's 400.
  const json = definition.oauth?.token_request_encoding === 'json';
  try {
    const response = await oauth.revocationRequest(server.as, client.client, client.auth, token, {
      ...transport.options(endpoint, 'revocation'),
      additionalParameters: json ? {} : { token_type_hint: hint },
    });
    // §2.2 says 200; a provider that answers 204 No Content has revoked all the same.
    if (response.status >= 200 && response.status < 300) return;
    await oauth.processRevocationResponse(response); // throws: an OAuth error, or an unexpected status
  } catch (error) {
    throw toOAuthError(error, `the revocation endpoint of ${definition.name}`, 'authentication_failed', { provider: definition.name });
  }
}
