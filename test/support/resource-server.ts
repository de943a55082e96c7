// The test protected resource: an MCP-style endpoint (RFC 9728 metadata, audience-bound tokens) and a small local API.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';

/** What the resource server needs to know about a token. */
export interface ActiveToken {
  kind: string;
  sub: string;
  accountId?: string;
  clientId: string;
  scope: string;
  audiences: string[];
}

/**
 * Looks a token up in the provider's own store, the way its introspection endpoint does: unknown, expired,
 * consumed (a rotated refresh token) or revoked (the grant is gone) means not usable.
 */
export async function findActiveToken(provider: Provider, value: string): Promise<ActiveToken | undefined> {
  const token =
    (await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value)) ?? (await provider.RefreshToken.find(value));
  if (!token?.isValid) return undefined;
  if (token.grantId) {
    const grant = await provider.Grant.find(token.grantId);
    if (!grant || grant.isExpired) return undefined;
  }
  const aud = token.aud === undefined ? [] : Array.isArray(token.aud) ? token.aud : [token.aud];
  return {
    kind: token.kind,
    // Client-credentials tokens have no user: the client is the subject.
    sub: token.accountId ?? token.clientId,
    accountId: token.accountId,
    clientId: token.clientId,
    scope: token.scope ?? '',
    audiences: aud,
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

export interface ResourceServer {
  server: http.Server;
  origin: string;
  resourceUrl: string;
  apiUrl: string;
  /** The provider exists only after the issuer URL is known, which needs this server's port first. */
  attach(provider: Provider, issuer: string): void;
}

export async function startResourceServer(): Promise<ResourceServer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  const resourceUrl = `${origin}/mcp`;
  const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
  let provider: Provider | undefined;
  let issuer = '';

  // Only an access token (not a refresh token) counts as a credential here.
  const accessToken = async (req: IncomingMessage) => {
    const value = bearer(req);
    const token = value && provider ? await findActiveToken(provider, value) : undefined;
    return { given: value !== undefined, token: token && token.kind !== 'RefreshToken' ? token : undefined };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', origin).pathname;
    if (req.method === 'GET' && path === '/.well-known/oauth-protected-resource/mcp') {
      send(res, 200, { resource: resourceUrl, authorization_servers: [issuer], scopes_supported: ['mcp:read', 'mcp:write'], bearer_methods_supported: ['header'] });
    } else if (path === '/mcp') {
      const { given, token } = await accessToken(req);
      // RFC 8707 / MCP: a token is only good here if it was issued for this resource (resource=<resourceUrl>).
      if (!token || !token.audiences.includes(resourceUrl)) {
        const error = given ? ', error="invalid_token"' : '';
        send(res, 401, { error: 'unauthorized' }, { 'www-authenticate': `Bearer resource_metadata="${metadataUrl}"${error}` });
      } else send(res, 200, { ok: true, sub: token.sub, scope: token.scope });
    } else if (req.method === 'GET' && path === '/api/me') {
      const { given, token } = await accessToken(req);
      if (!token) send(res, 401, { error: 'unauthorized' }, { 'www-authenticate': given ? 'Bearer error="invalid_token"' : 'Bearer' });
      else send(res, 200, { sub: token.sub, email: token.accountId ? `${token.accountId}@example.test` : null });
    } else send(res, 404, { error: 'not_found' });
  };

  server.on('request', (req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error('resource server error', err);
      if (!res.headersSent) send(res, 500, { error: 'server_error' });
    });
  });
  return {
    server,
    origin,
    resourceUrl,
    apiUrl: `${origin}/api/me`,
    attach(p, iss) {
      provider = p;
      issuer = iss;
    },
  };
}
