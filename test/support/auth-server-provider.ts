// The test authorization server's oidc-provider configuration: clients, scopes, resource indicators, auto-interactions.
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors } from 'oidc-provider';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const MCP_SCOPES = 'mcp:read mcp:write';
export const ACCOUNT = { sub: 'alice', email: 'alice@example.test', name: 'Alice Example' };

export interface ProviderOptions {
  issuer: string;
  /** The one resource indicator the server accepts (the MCP resource URL). */
  resourceUrl: string;
  accessTokenTtl: number;
  deviceCodeTtl: number;
  refreshTokenTtl: number;
  /**
   * Also accept any http://127.0.0.1 resource indicator (MCP servers the tests run themselves, on
   * ports chosen after this server started), with the scopes mcp:read mcp:write mcp:admin.
   */
  loopbackResources?: boolean;
}

/** The scopes of a loopback MCP resource (loopbackResources): mcp:admin is for step-up tests. */
export const LOOPBACK_RESOURCE_SCOPES = 'mcp:read mcp:write mcp:admin';

// Loopback redirect URIs registered without a port: oidc-provider lets *native* clients use any port on the same
// host and path (RFC 8252 §7.3). Web clients (the default application_type) get exact matching only, so every
// client that logs in from the CLI, confidential ones too, is registered as native.
const REDIRECT_URIS = ['http://127.0.0.1/auth/callback/oauth', 'http://localhost/auth/callback/oauth'];
const USER_GRANTS = ['authorization_code', 'refresh_token', DEVICE_GRANT];

const CLIENTS = [
  { client_id: 'authsome-public', client_name: 'authsome (public)', token_endpoint_auth_method: 'none' },
  {
    client_id: 'authsome-confidential',
    client_name: 'authsome (confidential)',
    client_secret: 'confidential-secret-123456',
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'authsome-post',
    client_name: 'authsome (post)',
    client_secret: 'post-secret-1234567',
    token_endpoint_auth_method: 'client_secret_post',
  },
].map((client) => ({ ...client, application_type: 'native', redirect_uris: REDIRECT_URIS, grant_types: USER_GRANTS, response_types: ['code'] }));

const M2M_CLIENT = {
  client_id: 'm2m',
  client_secret: 'm2m-secret-1234567',
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
};

export function createProvider(options: ProviderOptions): Provider {
  const { resourceUrl } = options;
  return new Provider(options.issuer, {
    clients: [...CLIENTS, M2M_CLIENT],
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@example.test`, name: sub === ACCOUNT.sub ? ACCOUNT.name : sub }),
    }),
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    features: {
      devInteractions: { enabled: false }, // replaced by the auto-interaction handler below
      deviceFlow: { enabled: true },
      registration: { enabled: true }, // open DCR: no initial access token
      registrationManagement: { enabled: true }, // RFC 7592: read a client with its registration_access_token
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A refresh (or a code exchange) without `resource` keeps the audience that was granted.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator === resourceUrl) return { scope: MCP_SCOPES, audience: resourceUrl, accessTokenFormat: 'opaque', accessTokenTTL: options.accessTokenTtl };
          if (options.loopbackResources && indicator.startsWith('http://127.0.0.1:')) {
            return { scope: LOOPBACK_RESOURCE_SCOPES, audience: indicator, accessTokenFormat: 'opaque', accessTokenTTL: options.accessTokenTtl };
          }
          throw new errors.InvalidTarget();
        },
      },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 accepts
    rotateRefreshToken: true, // with reuse detection: replaying a rotated RT revokes the whole grant
    // Refresh tokens for any client allowed the grant, offline_access or not (like most non-OIDC servers).
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    // Tokens outlive the login session (the browser simulator throws its cookies away after every flow).
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: options.accessTokenTtl,
      ClientCredentials: options.accessTokenTtl,
      AuthorizationCode: 60,
      DeviceCode: options.deviceCodeTtl,
      IdToken: 3600,
      RefreshToken: options.refreshTokenTtl,
      Interaction: 600,
      Session: 14 * 86400,
      Grant: Math.max(options.refreshTokenTtl * 10, 14 * 86400), // a grant must outlive every RT rotated from it
    },
    // The 15 s default also stretches opaque token expiry; tests want sharp TTLs.
    clockTolerance: 0,
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  });
}

export type InteractionMode = 'approve' | 'deny';

/** Finishes login and consent without pages: log in as alice and grant everything asked, or deny. */
export async function autoInteraction(provider: Provider, mode: InteractionMode, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (mode === 'deny') {
    const result = { error: 'access_denied', error_description: 'The user denied the request' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, (scopes as string[]).join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
