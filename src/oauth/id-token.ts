// ID tokens from servers whose issuer we could not verify (no RFC 8414 metadata): oauth4webapi
// would reject them against a guessed issuer (Microsoft's iss names the tenant), so they are set
// aside before validation and read only for the account label shown by `list` — never trusted
// for anything else. The token came straight from the token endpoint over TLS (OIDC Core §3.1.3.7).
import type { ResolvedServer } from './server.ts';

export interface SetAside {
  response: Response;
  claims: Record<string, unknown> | null;
}

export async function setAsideUnverifiableIdToken(response: Response, server: ResolvedServer): Promise<SetAside> {
  if (server.issuerVerified || !response.ok) return { response, claims: null };
  const text = await response.clone().text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { response, claims: null };
  }
  if (!body || typeof body.id_token !== 'string') return { response, claims: null };
  const claims = decodeJwtPayload(body.id_token);
  delete body.id_token;
  return { response: new Response(JSON.stringify(body), { status: response.status, headers: response.headers }), claims };
}

function decodeJwtPayload(jwt: string): Record<string, unknown> | null {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    return payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
