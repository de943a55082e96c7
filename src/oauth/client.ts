// The OAuth client a login or refresh acts as: its id, its secret if it has one, and how it
// authenticates at the token endpoint (RFC 6749 §2.3; the definition can pin the method).
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';

export interface ClientCredentials {
  client_id: string;
  client_secret?: string | null;
  /**
   * The method the server registered the client with (RFC 7591 §3.2.1 returns it, and a server may
   * have replaced the one asked for): what the token endpoint then expects of this client.
   */
  registered_auth_method?: string | null;
}

const REGISTERED_METHODS: readonly string[] = ['client_secret_basic', 'client_secret_post', 'none'];

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | 'basic_empty_secret';

export interface OAuthClient {
  client: oauth.Client;
  auth: oauth.ClientAuth;
  method: AuthMethod;
}

export function buildClient(definition: ProviderDefinition, credentials: ClientCredentials, as?: oauth.AuthorizationServer): OAuthClient {
  const secret = credentials.client_secret || null;
  const registered = credentials.registered_auth_method;
  // The registered method wins when it can be used: a secret method needs the secret the registration gave.
  const method: AuthMethod = registered && REGISTERED_METHODS.includes(registered) && (registered === 'none' || secret)
    ? (registered as AuthMethod)
    : chooseAuthMethod(definition, secret, as);
  const client: oauth.Client = { client_id: credentials.client_id, token_endpoint_auth_method: method === 'basic_empty_secret' ? 'client_secret_basic' : method };
  const auth = method === 'none' ? oauth.None()
    : method === 'basic_empty_secret' ? basicWithEmptySecret
    : method === 'client_secret_basic' ? oauth.ClientSecretBasic(secret!) : oauth.ClientSecretPost(secret!);
  return { client, auth, method };
}

/**
 * HTTP Basic with the client_id as user name and an empty password (RFC 6749 §2.3.1: both
 * form-encoded first). Reddit's installed apps have no secret and get 401 without it (prawcore
 * sends auth=(client_id, "")); oauth4webapi's ClientSecretBasic refuses an empty secret.
 */
const basicWithEmptySecret: oauth.ClientAuth = (_as, client, _body, headers) => {
  const username = encodeURIComponent(client.client_id).replace(/%20/g, '+');
  headers.set('authorization', `Basic ${Buffer.from(`${username}:`).toString('base64')}`);
};

function chooseAuthMethod(definition: ProviderDefinition, secret: string | null, as?: oauth.AuthorizationServer): AuthMethod {
  // A public client (RFC 6749 §2.1) has no secret to send, whatever method the definition pins for
  // confidential ones: it identifies itself with client_id in the body (§3.2.1), or with Basic and
  // an empty password where the provider says so.
  if (!secret) return definition.oauth?.public_client_auth === 'basic_empty_secret' ? 'basic_empty_secret' : 'none';
  const pinned = definition.oauth?.token_endpoint_auth_method;
  if (pinned) return pinned;
  const supported = as?.token_endpoint_auth_methods_supported;
  // With metadata, follow it (RFC 8414 §2 makes client_secret_basic the default). Without it, send
  // the secret in the body: what the Python implementation did and what GitHub, Google and Slack accept.
  if (supported) return supported.includes('client_secret_basic') || !supported.includes('client_secret_post') ? 'client_secret_basic' : 'client_secret_post';
  return 'client_secret_post';
}
