// The OAuth client a login or refresh acts as: its id, its secret if it has one, and how it
// authenticates at the token endpoint (RFC 6749 §2.3; the definition can pin the method).
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';

export interface ClientCredentials {
  client_id: string;
  client_secret?: string | null;
}

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface OAuthClient {
  client: oauth.Client;
  auth: oauth.ClientAuth;
  method: AuthMethod;
}

export function buildClient(definition: ProviderDefinition, credentials: ClientCredentials, as?: oauth.AuthorizationServer): OAuthClient {
  const secret = credentials.client_secret || null;
  const method = chooseAuthMethod(definition, secret, as);
  const client: oauth.Client = { client_id: credentials.client_id, token_endpoint_auth_method: method };
  const auth = method === 'none' ? oauth.None() : method === 'client_secret_basic' ? oauth.ClientSecretBasic(secret!) : oauth.ClientSecretPost(secret!);
  return { client, auth, method };
}

function chooseAuthMethod(definition: ProviderDefinition, secret: string | null, as?: oauth.AuthorizationServer): AuthMethod {
  if (!secret) return 'none';
  const pinned = definition.oauth?.token_endpoint_auth_method;
  if (pinned) return pinned;
  const supported = as?.token_endpoint_auth_methods_supported;
  // With metadata, follow it (RFC 8414 §2 makes client_secret_basic the default). Without it, send
  // the secret in the body: what the Python implementation did and what GitHub, Google and Slack accept.
  if (supported) return supported.includes('client_secret_basic') || !supported.includes('client_secret_post') ? 'client_secret_basic' : 'client_secret_post';
  return 'client_secret_post';
}
