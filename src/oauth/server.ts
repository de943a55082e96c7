// The authorization server of a provider as oauth4webapi sees it: from RFC 8414 metadata when the
// definition names an issuer (or a discovery gave one), else assembled from the definition's URLs.
import * as oauth from 'oauth4webapi';
import { expandUrl, missingPlaceholder, type ProviderDefinition, type UrlValues } from '../providers/index.ts';
import { AuthsomeError } from '../util/index.ts';
import { isUnreachable, toOAuthError } from './errors.ts';
import type { OAuthTransport } from './transport.ts';

export interface ResolvedServer {
  as: oauth.AuthorizationServer;
  /**
   * Whether `as.issuer` is known to be the real issuer (from metadata). Only then can the RFC 9207
   * `iss` response parameter be checked; otherwise it is ignored, as §2.4 tells clients to.
   */
  issuerVerified: boolean;
  /**
   * Where refresh grants go when the definition names its own `refresh_url`; otherwise they go to
   * `as.token_endpoint`, as RFC 6749 §6 says. Authorization-code exchanges always use the latter.
   */
  refreshEndpoint?: string;
}

/**
 * Fetches an issuer's metadata at the URLs the MCP authorization spec (2025-11-25, "Authorization
 * Server Metadata Discovery") lists, in its order: RFC 8414 §3.1's path-inserted
 * `/.well-known/oauth-authorization-server{path}`, then OpenID Connect discovery path-inserted
 * (`/.well-known/openid-configuration{path}`) and path-appended (`{path}/.well-known/openid-configuration`,
 * OIDC Discovery §4.1). Without a path the first and last are the two root documents.
 */
export async function discoverAuthorizationServer(issuer: string, transport: OAuthTransport): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  const hasPath = url.pathname !== '/' && url.pathname !== '';
  const attempts: Array<() => Promise<Response>> = [
    () => oauth.discoveryRequest(url, { algorithm: 'oauth2', ...transport.options(url) }),
    ...(hasPath ? [() => {
      const inserted = new URL(`/.well-known/openid-configuration${url.pathname.replace(/\/$/, '')}`, url);
      return transport.options(inserted)[oauth.customFetch](inserted.href, { method: 'GET', headers: { accept: 'application/json' }, redirect: 'manual' });
    }] : []),
    () => oauth.discoveryRequest(url, { algorithm: 'oidc', ...transport.options(url) }),
  ];
  let firstError: unknown;
  for (const attempt of attempts) {
    try {
      // processDiscoveryResponse checks that the document names this very issuer (RFC 8414 §3.3).
      return await oauth.processDiscoveryResponse(url, await attempt());
    } catch (error) {
      firstError ??= error;
      // Another document on the same server is worth asking for when one was missing or not
      // metadata, never when the server could not be reached at all (that would multiply the wait
      // on an unreachable provider).
      if (isUnreachable(error)) break;
    }
  }
  throw toOAuthError(firstError, `the metadata of ${issuer} (RFC 8414)`, 'authentication_failed');
}


/**
 * The server of a definition at one place: `values` fill `{base_url}` (a self-managed instance) and
 * `{tenant}` (a Microsoft directory); each falls back to the definition's default.
 */
export async function resolveServer(definition: ProviderDefinition, values: UrlValues, transport: OAuthTransport): Promise<ResolvedServer> {
  const o = definition.oauth;
  if (!o) throw new AuthsomeError('provider_invalid', `${definition.name} has no oauth section`, { provider: definition.name });
  const filled: UrlValues = { base_url: values.base_url ?? o.base_url ?? null, tenant: values.tenant ?? o.tenant ?? null };
  const url = (template: string | null | undefined, field: string): string | undefined => {
    if (!template) return undefined;
    const missing = missingPlaceholder(template, filled);
    if (missing === 'base_url') {
      throw new AuthsomeError('input_required', `${definition.name} needs a base URL for its ${field}`, {
        hint: `Pass it: authsome login ${definition.name} --base-url https://your-instance.example.com`,
        provider: definition.name,
      });
    }
    if (missing === 'tenant') {
      throw new AuthsomeError('input_required', `${definition.name} needs a tenant for its ${field}`, {
        hint: `Pass it: authsome login ${definition.name} --tenant <tenant ID or domain>${definition.client?.tenant_env ? ` (or set ${definition.client.tenant_env})` : ''}`,
        provider: definition.name,
      });
    }
    return expandUrl(template, filled)!;
  };
  const fromDefinition = {
    authorization_endpoint: url(o.authorization_url, 'authorization_url'),
    token_endpoint: url(o.token_url, 'token_url'),
    device_authorization_endpoint: url(o.device_authorization_url, 'device_authorization_url'),
    revocation_endpoint: url(o.revocation_url, 'revocation_url'),
    registration_endpoint: url(o.registration_endpoint, 'registration_endpoint'),
    userinfo_endpoint: url(o.userinfo_url, 'userinfo_url'),
  };
  const defined = Object.fromEntries(Object.entries(fromDefinition).filter(([, v]) => v !== undefined));
  // RFC 8414 has no field for a separate refresh endpoint, so it lives beside `as`, not in it.
  const refreshEndpoint = url(o.refresh_url, 'refresh_url');
  const refresh = refreshEndpoint ? { refreshEndpoint } : {};
  const issuer = typeof o.issuer === 'string' ? url(o.issuer, 'issuer') : undefined;
  if (issuer) {
    // Metadata supplies what the definition leaves out and tells us whether `iss` is sent;
    // the definition's explicit endpoints win (they are what the user or catalogue vouched for).
    const discovered = await discoverAuthorizationServer(issuer, transport);
    return { as: { ...discovered, ...defined }, issuerVerified: true, ...refresh };
  }
  const anyEndpoint = fromDefinition.authorization_endpoint ?? fromDefinition.token_endpoint ?? fromDefinition.device_authorization_endpoint;
  if (!anyEndpoint) throw new AuthsomeError('provider_invalid', `${definition.name} names no OAuth endpoints`, { provider: definition.name });
  return { as: { issuer: new URL(anyEndpoint).origin, ...defined }, issuerVerified: false, ...refresh };
}
