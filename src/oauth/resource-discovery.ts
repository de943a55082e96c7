// RFC 9728 protected resource metadata: from an MCP server's URL alone, find the authorization
// server that guards it — first at the path-inserted well-known URL (§3.1), then through the
// `resource_metadata` parameter of the 401 challenge the resource answers with (§5.1).
import * as oauth from 'oauth4webapi';
import { AuthsomeError } from '../util/index.ts';
import { toOAuthError } from './errors.ts';
import type { OAuthTransport } from './transport.ts';

export interface ProtectedResource {
  resource: string;
  authorizationServers: string[];
  scopes: string[];
  name: string | null;
}

export async function discoverProtectedResource(resourceUrl: string, transport: OAuthTransport): Promise<ProtectedResource> {
  const resource = new URL(resourceUrl);
  let metadata: oauth.ResourceServer | null = null;
  let firstError: unknown;
  try {
    metadata = await oauth.processResourceDiscoveryResponse(resource, await oauth.resourceDiscoveryRequest(resource, transport.options(resource)));
  } catch (error) {
    firstError = error;
  }
  if (!metadata) {
    try {
      metadata = await metadataFromChallenge(resource, transport);
    } catch (error) {
      firstError ??= error;
    }
  }
  if (!metadata) throw toOAuthError(firstError, `the protected resource metadata of ${resource.href} (RFC 9728)`, 'authentication_failed');
  const servers = metadata.authorization_servers ?? [];
  if (servers.length === 0) {
    throw new AuthsomeError('authentication_failed', `${resource.href} publishes no authorization server in its metadata (RFC 9728 authorization_servers)`, {
      hint: 'Register the provider by hand with `authsome register <file>` naming its authorization and token URLs.',
    });
  }
  return {
    resource: metadata.resource,
    authorizationServers: servers,
    scopes: metadata.scopes_supported ?? [],
    name: typeof metadata.resource_name === 'string' ? metadata.resource_name : null,
  };
}

async function metadataFromChallenge(resource: URL, transport: OAuthTransport): Promise<oauth.ResourceServer | null> {
  const options = transport.options(resource);
  const response = await options[oauth.customFetch](resource.href, { method: 'GET', headers: { accept: 'application/json, text/event-stream' } });
  const challenge = response.headers.get('www-authenticate') ?? '';
  const match = /resource_metadata="([^"]+)"/i.exec(challenge);
  if (!match) return null;
  const metadataUrl = new URL(match[1]!, resource);
  const metadataResponse = await options[oauth.customFetch](metadataUrl.href, { method: 'GET', headers: { accept: 'application/json' } });
  const body = (await metadataResponse.json()) as oauth.ResourceServer;
  // §3.3: the metadata must be about this very resource, or an attacker's document could redirect us.
  if (!body || (body.resource !== resource.href && body.resource !== resource.href.replace(/\/$/, ''))) {
    throw new AuthsomeError('authentication_failed', `the metadata at ${metadataUrl.href} describes ${String(body?.resource)}, not ${resource.href}`);
  }
  return body;
}
