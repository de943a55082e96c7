// RFC 9728 protected resource metadata: from an MCP server's URL alone, find the authorization
// server that guards it, in the order the MCP authorization spec (2025-11-25, "Protected Resource
// Metadata Discovery Requirements") sets: the `resource_metadata` URL of the 401 challenge the
// resource answers an unauthenticated request with (RFC 9728 §5.1), else the path-inserted
// well-known URL (§3.1), else the well-known URL at the root of the origin.
import * as oauth from 'oauth4webapi';
import { AuthsomeError, parseBearerChallenge } from '../util/index.ts';
import { isUnreachable, toOAuthError } from './errors.ts';
import type { OAuthTransport } from './transport.ts';

export interface ProtectedResource {
  /** The resource identifier the metadata names: the `resource` of token requests (RFC 8707). */
  resource: string;
  authorizationServers: string[];
  /**
   * The scopes to ask for: the challenge's `scope` when the 401 named one, else the metadata's
   * `scopes_supported`, else none (MCP 2025-11-25 "Scope Selection Strategy").
   */
  scopes: string[];
  name: string | null;
  /** Where the metadata came from, for the log and the tests. */
  foundAt: 'challenge' | 'path' | 'root';
}

export async function discoverProtectedResource(resourceUrl: string, transport: OAuthTransport): Promise<ProtectedResource> {
  const url = new URL(resourceUrl);
  const errors: unknown[] = [];
  const challenge = await probe(url, transport).catch((error: unknown) => {
    errors.push(error);
    return null;
  });
  // A server that cannot be reached has no metadata elsewhere either: the well-known URLs would
  // each wait for their own timeout (network_error, exit 8, at once instead).
  if (!challenge && errors.length && isUnreachable(errors[0])) {
    throw toOAuthError(errors[0], `the protected resource ${url.href}`, 'authentication_failed');
  }
  const attempts: Array<[ProtectedResource['foundAt'], () => Promise<oauth.ResourceServer | null>]> = [
    ['challenge', async () => (challenge?.resource_metadata ? fromChallenge(url, new URL(challenge.resource_metadata, url), transport) : null)],
    ['path', async () => fromWellKnown(url, url, transport)],
    // The root document describes the origin itself, a resource that contains this URL.
    ['root', async () => (url.pathname === '/' ? null : fromWellKnown(url, new URL('/', url), transport))],
  ];
  for (const [foundAt, attempt] of attempts) {
    let metadata: oauth.ResourceServer | null = null;
    try {
      metadata = await attempt();
    } catch (error) {
      errors.push(error);
    }
    if (!metadata) continue;
    const servers = metadata.authorization_servers ?? [];
    if (servers.length === 0) {
      throw new AuthsomeError('authentication_failed', `${url.href} publishes no authorization server in its metadata (RFC 9728 authorization_servers)`, {
        hint: 'Register the provider by hand with `authsome register <file>` naming its authorization and token URLs.',
      });
    }
    const challengeScopes = challenge?.scope?.split(' ').filter(Boolean) ?? [];
    return {
      resource: metadata.resource,
      authorizationServers: servers,
      scopes: challengeScopes.length ? challengeScopes : (metadata.scopes_supported ?? []),
      name: typeof metadata.resource_name === 'string' ? metadata.resource_name : null,
      foundAt,
    };
  }
  throw toOAuthError(errors[0] ?? new Error('no metadata document was found'), `the protected resource metadata of ${url.href} (RFC 9728)`, 'authentication_failed');
}

/** The Bearer challenge of an unauthenticated request (null when the resource did not answer 401). */
async function probe(url: URL, transport: OAuthTransport): Promise<Record<string, string> | null> {
  const options = transport.options(url);
  const response = await options[oauth.customFetch](url.href, { method: 'GET', headers: { accept: 'application/json, text/event-stream' } });
  await response.body?.cancel();
  if (response.status !== 401) return null;
  return parseBearerChallenge(response.headers.get('www-authenticate'));
}

async function fromWellKnown(url: URL, identifier: URL, transport: OAuthTransport): Promise<oauth.ResourceServer> {
  const response = await oauth.resourceDiscoveryRequest(identifier, transport.options(identifier));
  const metadata = await oauth.processResourceDiscoveryResponse(identifier, response);
  return checkCovers(url, metadata, response.url || identifier.href);
}

async function fromChallenge(url: URL, metadataUrl: URL, transport: OAuthTransport): Promise<oauth.ResourceServer> {
  const options = transport.options(metadataUrl);
  const response = await options[oauth.customFetch](metadataUrl.href, { method: 'GET', headers: { accept: 'application/json' } });
  if (response.status !== 200) throw new AuthsomeError('authentication_failed', `the metadata at ${metadataUrl.href} answered ${response.status}`);
  const body = (await response.json().catch(() => null)) as oauth.ResourceServer | null;
  if (!body || typeof body.resource !== 'string') throw new AuthsomeError('authentication_failed', `the metadata at ${metadataUrl.href} names no "resource" (RFC 9728 §2)`);
  return checkCovers(url, body, metadataUrl.href);
}

/**
 * RFC 9728 §3.3 / §7.3: the metadata must be about this resource, or a document an attacker planted
 * could send our login (and its token) to another resource. It may describe the URL itself or a
 * resource of the same origin whose path contains it (the root document describes the origin).
 */
function checkCovers(url: URL, metadata: oauth.ResourceServer, where: string): oauth.ResourceServer {
  let resource: URL | null = null;
  try {
    resource = new URL(metadata.resource);
  } catch {
    resource = null;
  }
  const strip = (path: string) => path.replace(/\/$/, '');
  const covers = resource !== null && resource.origin === url.origin && !resource.search && !resource.hash
    && (strip(resource.pathname) === strip(url.pathname) || url.pathname.startsWith(`${strip(resource.pathname)}/`));
  if (!covers) throw new AuthsomeError('authentication_failed', `the metadata at ${where} describes ${String(metadata.resource)}, not ${url.href}`);
  return metadata;
}
