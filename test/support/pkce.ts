// A PKCE authorization request and a loopback callback receiver, for tests that drive the test
// authorization server directly (without the CLI): the support's own tests and the token gate's.
import http from 'node:http';
import * as oauth from 'oauth4webapi';

export interface PkceRequest {
  url: string;
  verifier: string;
  state: string;
}

export async function pkceAuthorizationUrl(
  endpoint: string,
  options: { clientId: string; redirectUri: string; scope?: string; extra?: Record<string, string> },
): Promise<PkceRequest> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: options.clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid email offline_access',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...options.extra,
  }).toString();
  return { url: url.href, verifier, state };
}

/** A stand-in for the daemon's loopback callback: any port, path /auth/callback/oauth. */
export async function withCallbackServer<T>(run: (redirectUri: string, got: Promise<URLSearchParams>) => Promise<T>): Promise<T> {
  let deliver!: (params: URLSearchParams) => void;
  const got = new Promise<URLSearchParams>((resolve) => (deliver = resolve));
  const callback = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.writeHead(url.pathname === '/auth/callback/oauth' ? 200 : 404, { 'content-type': 'text/html' }).end('<p>Signed in.</p>');
    if (url.pathname === '/auth/callback/oauth') deliver(url.searchParams);
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  try {
    return await run(`http://127.0.0.1:${(callback.address() as { port: number }).port}/auth/callback/oauth`, got);
  } finally {
    callback.close();
  }
}
