// Dynamic client registration (RFC 7591) with our loopback redirect URI, and the RFC 7592 read
// that tells whether a client registered earlier is still known to the server.
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import { AuthsomeError } from '../util/index.ts';
import { toOAuthError } from './errors.ts';
import { checkClientValues } from './tokens.ts';
import type { ResolvedServer } from './server.ts';
import type { OAuthTransport } from './transport.ts';

export interface RegisteredClient {
  client_id: string;
  client_secret: string | null;
  registration_access_token: string | null;
  registration_client_uri: string | null;
  token_endpoint_auth_method: string;
}

export async function registerClient(
  definition: ProviderDefinition,
  server: ResolvedServer,
  options: { redirectUri: string; scopes: readonly string[] },
  transport: OAuthTransport,
): Promise<RegisteredClient> {
  const endpoint = server.as.registration_endpoint;
  if (!endpoint) {
    throw new AuthsomeError('flow_unsupported', `${definition.name} does not support dynamic client registration`, {
      hint: `Register an OAuth app at the provider and log in with its client id: authsome login ${definition.name} --flow pkce`,
      provider: definition.name,
    });
  }
  try {
    const response = await oauth.dynamicClientRegistrationRequest(server.as, {
      client_name: 'authsome',
      application_type: 'native',
      redirect_uris: [options.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none', // a public native client; PKCE protects the code (RFC 8252 §8.1)
      ...registrationScope(server, options.scopes),
    }, transport.options(endpoint));
    const client = await oauth.processDynamicClientRegistrationResponse(response);
    checkClientValues(client);
    const text = (name: string): string | null => (typeof client[name] === 'string' ? (client[name] as string) : null);
    transport.secret(text('client_secret'));
    transport.secret(text('registration_access_token'));
    return {
      client_id: client.client_id,
      client_secret: text('client_secret'),
      registration_access_token: text('registration_access_token'),
      registration_client_uri: text('registration_client_uri'),
      token_endpoint_auth_method: text('token_endpoint_auth_method') ?? 'none',
    };
  } catch (error) {
    throw toOAuthError(error, `the registration endpoint of ${definition.name}`, 'authentication_failed', { provider: definition.name });
  }
}

/**
 * RFC 7591 §2 `scope` is optional, and servers reject values they do not list (resource scopes of
 * an MCP server live in its RFC 9728 metadata, not the server's). Send only what the server lists.
 */
function registrationScope(server: ResolvedServer, scopes: readonly string[]): { scope?: string } {
  const supported = server.as.scopes_supported;
  const listed = supported ? scopes.filter((scope) => supported.includes(scope)) : [];
  return listed.length ? { scope: listed.join(' ') } : {};
}

/**
 * Whether a registered client still exists (RFC 7592 §2.1 read). true/false when the server can
 * say; null when it cannot be asked (no management URI) or the answer was not conclusive.
 */
export async function isClientStillRegistered(client: { registration_client_uri?: string | null; registration_access_token?: string | null }, transport: OAuthTransport): Promise<boolean | null> {
  if (!client.registration_client_uri || !client.registration_access_token) return null;
  try {
    const options = transport.options(client.registration_client_uri);
    const response = await options[oauth.customFetch](client.registration_client_uri, {
      method: 'GET',
      headers: { authorization: `Bearer ${client.registration_access_token}`, accept: 'application/json' },
    });
    if (response.ok) return true;
    // §2.1: an unknown client or a revoked registration token is answered with 401 (or 403/404).
    if ([401, 403, 404].includes(response.status)) return false;
    return null;
  } catch {
    return null;
  }
}
