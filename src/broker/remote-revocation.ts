// Before a connection is forgotten locally, ask the provider to forget its tokens too (RFC 7009).
// Revoking the refresh token ends the whole grant on servers that follow §2.1's SHOULD; otherwise
// the access token is revoked. A remote failure never stops the local removal: it is reported.
import { toAuthsomeError } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { canRenew, isDue } from './refresh-policy.ts';
import { connectionUrlValues } from './tenant.ts';

export type RemoteRevocation =
  | { status: 'revoked'; token: 'refresh_token' | 'access_token' }
  | { status: 'failed'; error: string }
  /** The provider has no revocation endpoint, or the credential is an API key (revoke it in the provider's console). */
  | { status: 'not_supported' }
  | { status: 'nothing_to_revoke' };

export async function revokeRemotely(ctx: BrokerContext, stored: ConnectionRecord): Promise<RemoteRevocation> {
  if (stored.auth_type !== 'oauth2') return { status: 'not_supported' };
  let record = stored;
  if (!record.refresh_token && !record.access_token) return { status: 'nothing_to_revoke' };
  try {
    // Loaded here, not at start-up: most commands never talk OAuth.
    const { buildClient, revocationNeedsClient, revocationStyleOf, revokeToken, tokenToRevoke } = await import('../oauth/index.ts');
    const { knownClient, serverFor, transportFor } = await import('./oauth-support.ts');
    const entry = await ctx.registry.get(record.provider);
    if (!entry) return { status: 'failed', error: `the definition of ${record.provider} is gone, so its revocation endpoint is unknown` };
    const definition = entry.definition;
    // A bearer revocation authenticates with the access token itself (Dropbox, Slack): an expired
    // one would be refused and leave the grant alive, so a due token is renewed first — through the
    // refresh protocol, which stores a rotated pair — and the fresh one is revoked.
    if (revocationStyleOf(definition) === 'bearer' && isDue(record) && canRenew(record)) {
      const { ensureFresh } = await import('./refresh.ts');
      record = (await ensureFresh(ctx, record).catch(() => ({ record }))).record;
    }
    // The dialect decides which token goes: a bearer revocation authenticates with the access token.
    const chosen = tokenToRevoke(definition, record);
    if (!chosen) return { status: 'nothing_to_revoke' };
    const { token, hint } = chosen;
    if (!definition.oauth?.revocation_url && !definition.oauth?.issuer) return { status: 'not_supported' };
    const transport = transportFor(ctx, definition);
    const server = await serverFor(ctx, definition, connectionUrlValues(record), transport);
    if (!server.as.revocation_endpoint) return { status: 'not_supported' };
    const client = await knownClient(ctx, definition, { profile: record.profile, preferStored: true });
    // A bearer revocation, or one naming the token in its URL, needs no client.
    if (!client && revocationNeedsClient(definition, server.as.revocation_endpoint)) return { status: 'failed', error: `no OAuth client credentials for ${record.provider} to authenticate the revocation` };
    transport.secret(client?.client_secret);
    await revokeToken(definition, server, client ? buildClient(definition, client, server.as) : null, token, hint, transport);
    return { status: 'revoked', token: hint };
  } catch (error) {
    return { status: 'failed', error: toAuthsomeError(error).message };
  }
}

/** One sentence for people about what happened at the provider. */
export function describeRemote(provider: string, remote: RemoteRevocation): string {
  switch (remote.status) {
    case 'revoked':
      return `${provider} revoked the token.`;
    case 'failed':
      return `Revoking at ${provider} failed (${remote.error}); the token may stay valid until it expires.`;
    case 'not_supported':
      return `${provider} offers no token revocation; revoke access in its settings if needed.`;
    case 'nothing_to_revoke':
      return '';
  }
}
