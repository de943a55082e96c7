// Client credentials grant (RFC 6749 §4.4): machine-to-machine tokens with no user and no refresh
// token; such a connection is renewed by asking again.
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import type { ErrorCode } from '../util/index.ts';
import type { OAuthClient } from './client.ts';
import { toOAuthError } from './errors.ts';
import type { ResolvedServer } from './server.ts';
import { checkTokenValues, grantParameters, type TokenResponse } from './tokens.ts';
import type { OAuthTransport } from './transport.ts';

export async function requestClientCredentialsToken(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  options: { scopes: readonly string[]; resource?: string | null; errorCode?: ErrorCode },
  transport: OAuthTransport,
): Promise<TokenResponse> {
  const endpoint = server.as.token_endpoint!;
  const parameters = grantParameters(definition, options);
  try {
    const response = await oauth.clientCredentialsGrantRequest(server.as, client.client, client.auth, parameters, transport.options(endpoint));
    return { tokens: checkTokenValues(await oauth.processClientCredentialsResponse(server.as, client.client, response)), claims: null };
  } catch (error) {
    throw toOAuthError(error, `the token endpoint of ${definition.name}`, options.errorCode ?? 'authentication_failed', { provider: definition.name });
  }
}
