// `authsome login https://mcp.example.com/mcp`: an MCP server (or any RFC 9728 protected
// resource) becomes a provider from its URL alone — its metadata names the authorization server,
// whose RFC 8414 metadata gives the endpoints — and the derived definition is saved like a
// registered one, so later logins, refreshes and `run` routes need no discovery.
import { discoverAuthorizationServer, discoverProtectedResource } from '../oauth/index.ts';
import type { ProviderDefinition, ProviderEntry } from '../providers/index.ts';
import { AuthsomeError, displayText } from '../util/index.ts';
import type { BrokerContext } from './context.ts';
import { refuseIfHeld } from './held-records.ts';
import { transportFor } from './oauth-support.ts';

export function isResourceUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/** A provider name from a URL: host and port, lower-case, safe in store keys. */
export function providerNameFor(url: string): string {
  const { hostname, port } = new URL(url);
  return `${hostname}${port ? `-${port}` : ''}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
}

/**
 * Whether a provider was derived from this URL: its `metadata.derived_from`, or its RFC 8707
 * resource (a definition saved before derived_from was compared, or written by hand).
 */
function isDerivedFrom(entry: ProviderEntry, url: string): boolean {
  const derived = (entry.definition.metadata as Record<string, unknown> | undefined)?.derived_from;
  return derived === url || entry.definition.oauth?.resource === url;
}

/** The provider saved for an MCP server's URL (by `login <url>`), or null when there is none. */
export async function providerForResource(ctx: BrokerContext, url: string): Promise<ProviderEntry | null> {
  const normalized = new URL(url).href;
  const byName = await ctx.registry.get(providerNameFor(url)).catch(() => null);
  if (byName && isDerivedFrom(byName, normalized)) return byName;
  const { entries } = await ctx.registry.all();
  return entries.find((entry) => isDerivedFrom(entry, normalized)) ?? null;
}

export async function providerFromResource(ctx: BrokerContext, url: string, options: { name?: string; force?: boolean }): Promise<{ entry: ProviderEntry; created: boolean }> {
  const name = options.name ?? providerNameFor(url);
  const existing = await ctx.registry.get(name).catch(() => null);
  const normalized = new URL(url).href;
  if (existing && isDerivedFrom(existing, normalized) && !options.force) return { entry: existing, created: false };
  if (existing && !options.force) {
    throw new AuthsomeError('conflict', `a provider named "${name}" already exists and is not ${normalized}; nothing was changed`, {
      hint: `Choose another name: authsome login ${url} --name my-server (or --force to replace "${name}")`,
      provider: name,
    });
  }
  // A new name that still holds records (a definition unregistered with --force) is not taken over:
  // the server's client registration and token endpoint would be handed its stored client and tokens.
  if (!existing && !options.force) await refuseIfHeld(ctx, name, `Or choose another name: authsome login ${url} --name my-server (--force takes the name anyway).`);
  // Discovery talks to the resource with no definition yet; a minimal one carries the transport.
  const bootstrap = { name, auth_type: 'oauth2', flow: 'dcr_pkce' } as ProviderDefinition;
  const transport = transportFor(ctx, bootstrap);
  const resource = await discoverProtectedResource(normalized, transport);
  ctx.log.debug(`resource metadata of ${normalized} found at the ${resource.foundAt === 'challenge' ? 'WWW-Authenticate resource_metadata URL' : resource.foundAt === 'path' ? 'path-inserted well-known URL' : 'root well-known URL'} (RFC 9728)`);
  const issuer = resource.authorizationServers[0]!;
  const as = await discoverAuthorizationServer(issuer, transport);
  if (!as.registration_endpoint) {
    throw new AuthsomeError('flow_unsupported', `the authorization server of ${normalized} (${issuer}) does not offer dynamic client registration (RFC 7591)`, {
      hint: 'Register an OAuth app there by hand, then describe it in a provider file: authsome register <file>',
      provider: name,
    });
  }
  const definition = {
    schema_version: 1,
    name,
    // The server's own name for itself (RFC 9728 resource_name): shown on terminals, so no control characters.
    display_name: (resource.name && displayText(resource.name).trim().slice(0, 128)) || new URL(normalized).host,
    auth_type: 'oauth2',
    flow: 'dcr_pkce',
    oauth: {
      issuer: as.issuer,
      authorization_url: as.authorization_endpoint ?? null,
      token_url: as.token_endpoint ?? null,
      revocation_url: as.revocation_endpoint ?? null,
      registration_endpoint: as.registration_endpoint,
      device_authorization_url: as.device_authorization_endpoint ?? null,
      scopes: resource.scopes,
      pkce: true,
      supports_device_flow: Boolean(as.device_authorization_endpoint),
      supports_dcr: true,
      resource: resource.resource,
    },
    host_url: normalized,
    docs: normalized,
    metadata: { derived_from: normalized, authorization_server: issuer },
  } as ProviderDefinition;
  const entry = await ctx.registry.save(definition);
  ctx.auditEvent('register', { provider: name, source: 'resource_metadata', endpoints: [normalized], status: 'success' });
  return { entry, created: true };
}
