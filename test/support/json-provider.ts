// A fake OAuth provider that speaks JSON, as the Agentic Developer Hub guide describes
// (shared/contract/004): token endpoints take JSON bodies only, refresh lives at its own URL,
// revocation takes {"token","client_id","client_secret"}, and refresh tokens are single-use and
// rotating. Test controls make it fail on cue (an OAuth error, a hang, a closed port, a rotated
// client secret) and count and record every request, so tests assert what the provider saw.
//
//   const p = await startJsonProvider();
//   await home.register(p.definition());                       // name "jsonprov", client env vars below
//   await seedConnection(home, { provider: 'jsonprov', ...p.seedRecord() });   // or log in (auto-approved)
//   p.failWith('refresh', 'invalid_grant');                    // the next refresh answers 400 invalid_grant
//   p.hang('refresh'); await p.nextHeld('refresh'); p.release();
//   await p.closePort(); await p.reopen();
//   p.rotateClientSecret();                                    // the old secret now gets 401 invalid_client
//   p.count('refresh'); p.lastRequest('revoke')?.body;         // what arrived, parsed
//
// Other providers' dialects (issue 15), each at an endpoint of its own:
//   startJsonProvider({ nestTokensUnder: 'authed_user' })   // the code exchange answers as Slack's oauth.v2.access
//   startJsonProvider({ refreshExpiresInS: 600 })           // every token answer says refresh_expires_in
//   revoke_bearer: POST with the token as its Bearer credential (Slack auth.revoke, Dropbox
//     /2/auth/token/revoke), answering 200 {"ok": true} or, on failure, 200 {"ok": false, "error"}
//   revoke_delete: DELETE /api/tokens/<token> (the token in the path, no body)
//   await p.close();
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { toRecordTimestamp } from '../../src/util/index.ts';

/** The provider's endpoints, by role. */
export type JsonEndpoint = 'authorize' | 'token' | 'refresh' | 'revoke' | 'me' | 'revoke_bearer' | 'revoke_delete';

export const JSON_PROVIDER_PATHS: Record<JsonEndpoint, string> = {
  authorize: '/oauth/authorize',      // GET, auto-approves: 302 to redirect_uri with code and state
  token: '/api/auth/token',           // POST JSON: the authorization-code exchange (guide step 3)
  refresh: '/api/auth/refresh',       // POST JSON: refresh_token grant (guide step 4)
  revoke: '/api/auth/revoke',         // POST JSON: {"token","client_id","client_secret"}
  me: '/api/auth/me',                 // GET with Bearer: {"id","email"}, or 401 token_expired
  revoke_bearer: '/api/auth.revoke',  // POST, Authorization: Bearer <the token to revoke>; 200 {"ok": true|false}
  revoke_delete: '/api/tokens/',      // DELETE /api/tokens/<token>: 204
};

export interface JsonProviderOptions {
  /** Default "jsonprov-client". */
  clientId?: string;
  /** Default "jsonprov-secret-<random>". */
  clientSecret?: string;
  /** expires_in of issued access tokens, in seconds (default 3600). */
  accessTokenLifetimeS?: number;
  /** What GET /api/auth/me answers for a live token (default {"id": "user-42", "email": "dev@adh.test"}). */
  account?: Record<string, unknown>;
  /** Fields every token response carries besides the pair (Salesforce's instance_url); change with setTokenExtras(). */
  tokenExtras?: Record<string, unknown>;
  /**
   * The code exchange answers as Slack's oauth.v2.access does for a user token: the pair under
   * this field, a different (bot) token at the top level. Refresh answers stay flat, as Slack's do.
   */
  nestTokensUnder?: string;
  /** refresh_expires_in (seconds) in every token answer. */
  refreshExpiresInS?: number;
}

export interface RecordedRequest {
  endpoint: JsonEndpoint | 'unknown';
  method: string;
  path: string;
  /** The content-type header as sent ('' when none). */
  contentType: string;
  /** The raw body text. */
  raw: string;
  /** The request headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as a JSON object, or null when it was not one. */
  body: Record<string, unknown> | null;
  /** The status the provider answered (undefined while the request is held). */
  status?: number;
}

export interface IssuedPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
}

export interface JsonProvider {
  /** http://127.0.0.1:<port> (stays the same across closePort()/reopen()). */
  readonly origin: string;
  /** The full URL of each endpoint. */
  readonly urls: Record<JsonEndpoint, string>;
  readonly clientId: string;
  /** The client secret the provider accepts now (changes with rotateClientSecret()). */
  readonly clientSecret: string;
  /** Environment variables naming the client, as definition() refers to them (JSONPROV_CLIENT_ID / _SECRET). */
  readonly clientEnv: Record<string, string>;
  /**
   * A provider definition for this server: token_request_encoding "json", token_url, refresh_url,
   * revocation_url and userinfo_url set. `overrides` are merged shallowly, `overrides.oauth` into oauth.
   */
  definition(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Issues a live token pair as if a user had authorized (to seed a connection without a login). */
  issuePair(): IssuedPair;
  /** Fields for test/support/make-due.ts seedConnection: a live pair, obtained an hour ago and just expired. */
  seedRecord(): Record<string, unknown>;
  /** The top-level (bot) access tokens a nesting code exchange answered beside the user's pair. */
  readonly topLevelTokens: string[];
  /** Whether a token (access or refresh) is live: not spent by a refresh, not revoked. */
  isLive(token: string): boolean;

  /**
   * The next `times` well-formed requests (default 1; Infinity for all) to `endpoint` answer this
   * OAuth error instead of being processed: nothing is spent. A form body still gets 415 first.
   * Status default: 401 for invalid_client, 500 for server_error, 503 for temporarily_unavailable, else 400.
   */
  failWith(endpoint: JsonEndpoint, error: string, options?: { description?: string; status?: number; times?: number }): void;
  /**
   * Requests to `endpoint` from now on are read, counted and recorded, then never answered until
   * release() (they are then processed normally) or closePort()/close() (their sockets are destroyed).
   */
  hang(endpoint: JsonEndpoint): void;
  /** Resolves when a request to `endpoint` is held that no earlier nextHeld() reported. */
  nextHeld(endpoint: JsonEndpoint): Promise<void>;
  /** Stops hanging and processes every held request. */
  release(): void;
  /** Stops listening and destroys open connections: clients get ECONNREFUSED. State is kept. */
  closePort(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
  /** A new client secret (the given one, or a random one); the old one then gets 401 invalid_client. Returns it. */
  rotateClientSecret(next?: string): string;
  /** Fields the next token responses (code exchange and refresh) carry besides the pair. */
  setTokenExtras(extras: Record<string, unknown>): void;
  /** Clears failWith() and hang() (held requests stay held until release()). */
  resetControls(): void;

  /** Requests that reached `endpoint` (fully read), in every mode; all endpoints without an argument. */
  count(endpoint?: JsonEndpoint): number;
  /** Every recorded request to `endpoint` (all without an argument), oldest first. */
  requests(endpoint?: JsonEndpoint): RecordedRequest[];
  /** The last request to `endpoint`, or null. */
  lastRequest(endpoint: JsonEndpoint): RecordedRequest | null;
  /** Forgets recorded requests and counts (tokens and grants stay). */
  clearRequests(): void;
  /** Destroys held requests and closes the server for good. */
  close(): Promise<void>;
}

interface Grant {
  refreshToken: string;
  accessTokens: Set<string>;
  revoked: boolean;
}

interface PendingCode {
  redirectUri: string;
  challenge: string | null;
}

interface Failure {
  error: string;
  description: string | undefined;
  status: number;
  remaining: number;
}

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

const POST_ENDPOINTS = new Set<JsonEndpoint>(['token', 'refresh', 'revoke']);

export async function startJsonProvider(options: JsonProviderOptions = {}): Promise<JsonProvider> {
  const clientId = options.clientId ?? 'jsonprov-client';
  let clientSecret = options.clientSecret ?? `jsonprov-secret-${token(8)}`;
  const lifetimeS = options.accessTokenLifetimeS ?? 3600;
  let tokenExtras: Record<string, unknown> = options.tokenExtras ?? {};

  const grants = new Map<string, Grant>();            // by current refresh token
  const accessToGrant = new Map<string, Grant>();
  const codes = new Map<string, PendingCode>();
  const recorded: RecordedRequest[] = [];
  const failures = new Map<JsonEndpoint, Failure>();
  const hanging = new Set<JsonEndpoint>();
  const held: Array<{ endpoint: JsonEndpoint; proceed: () => void; socket: Socket }> = [];
  const heldReported = new Set<object>();
  const heldWaiters: Array<{ endpoint: JsonEndpoint; resolve: () => void }> = [];
  const sockets = new Set<Socket>();

  const topLevelTokens: string[] = [];
  const issue = (grant?: Grant): IssuedPair => {
    const pair: IssuedPair = { access_token: `adh_${token(18)}`, refresh_token: `adh_rt_${token(18)}`, expires_in: lifetimeS, token_type: 'Bearer' };
    if (options.refreshExpiresInS !== undefined) (pair as IssuedPair & { refresh_expires_in?: number }).refresh_expires_in = options.refreshExpiresInS;
    const g = grant ?? { refreshToken: '', accessTokens: new Set<string>(), revoked: false };
    if (grant) grants.delete(grant.refreshToken);
    g.refreshToken = pair.refresh_token;
    g.accessTokens.add(pair.access_token);
    grants.set(pair.refresh_token, g);
    accessToGrant.set(pair.access_token, g);
    return pair;
  };

  const oauthError = (status: number, error: string, description?: string): Answer =>
    ({ status, body: description ? { error, error_description: description } : { error } });

  /** The client authenticates in the JSON body (client_id + client_secret), as the guide sends it. */
  const authenticate = (body: Record<string, unknown>): Answer | null => {
    if (body.client_id !== clientId) return oauthError(401, 'invalid_client', 'unknown client_id');
    if (body.client_secret !== clientSecret) return oauthError(401, 'invalid_client', 'client authentication failed');
    return null;
  };

  const handlers: Record<JsonEndpoint, (req: IncomingMessage, url: URL, body: Record<string, unknown> | null) => Answer> = {
    authorize: (_req, url) => {
      const q = url.searchParams;
      if (q.get('client_id') !== clientId) return { status: 400, body: { error: 'invalid_request', error_description: 'unknown client_id' } };
      const redirectUri = q.get('redirect_uri');
      if (!redirectUri || q.get('response_type') !== 'code') return { status: 400, body: { error: 'invalid_request' } };
      const code = `adh_code_${token(12)}`;
      codes.set(code, { redirectUri, challenge: q.get('code_challenge') });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      const state = q.get('state');
      if (state) target.searchParams.set('state', state);
      return { status: 302, body: '', headers: { location: target.href } };
    },
    token: (_req, _url, body) => {
      const denied = authenticate(body!);
      if (denied) return denied;
      if (body!.grant_type !== 'authorization_code') return oauthError(400, 'unsupported_grant_type', 'this endpoint exchanges authorization codes; refresh at /api/auth/refresh');
      const pending = typeof body!.code === 'string' ? codes.get(body!.code) : undefined;
      if (!pending) return oauthError(400, 'invalid_grant', 'unknown or used authorization code');
      codes.delete(body!.code as string);
      if (body!.redirect_uri !== pending.redirectUri) return oauthError(400, 'invalid_grant', 'redirect_uri does not match');
      if (pending.challenge) {
        const verifier = typeof body!.code_verifier === 'string' ? body!.code_verifier : '';
        if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge) return oauthError(400, 'invalid_grant', 'PKCE verification failed');
      }
      const pair = issue();
      if (!options.nestTokensUnder) return { status: 200, body: { ...pair, ...tokenExtras } };
      // Slack's shape: the app's bot token at the top level, the user's pair nested.
      const bot = `adh_bot_${token(18)}`;
      topLevelTokens.push(bot);
      return { status: 200, body: { ok: true, access_token: bot, token_type: 'bot', scope: 'chat:write', [options.nestTokensUnder]: { id: 'U42', ...pair, token_type: 'user', scope: 'search:read' } } };
    },
    refresh: (_req, _url, body) => {
      const denied = authenticate(body!);
      if (denied) return denied;
      if (body!.grant_type !== 'refresh_token') return oauthError(400, 'unsupported_grant_type');
      const grant = typeof body!.refresh_token === 'string' ? grants.get(body!.refresh_token) : undefined;
      // Single use: a spent (rotated) or revoked refresh token is no longer valid.
      if (!grant || grant.revoked) return oauthError(400, 'invalid_grant', 'refresh token is invalid, revoked, expired or already used');
      return { status: 200, body: { ...issue(grant), ...tokenExtras } };
    },
    revoke: (_req, _url, body) => {
      const denied = authenticate(body!);
      if (denied) return denied;
      if (typeof body!.token !== 'string') return oauthError(400, 'invalid_request', 'token is required');
      const grant = grants.get(body!.token);
      if (grant) {
        grant.revoked = true;
        grants.delete(body!.token);
        for (const access of grant.accessTokens) accessToGrant.delete(access);
      } else {
        accessToGrant.delete(body!.token);
      }
      return { status: 200, body: {} }; // an unknown token is answered 200 too (RFC 7009 §2.2)
    },
    revoke_bearer: (req) => {
      const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer) return { status: 200, body: { ok: false, error: 'not_authed' } };
      if (!revokeToken(bearer)) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
      return { status: 200, body: { ok: true, revoked: true } };
    },
    revoke_delete: (req, url) => {
      if (req.method !== 'DELETE') return oauthError(405, 'invalid_request', 'DELETE only');
      const named = decodeURIComponent(url.pathname.slice(JSON_PROVIDER_PATHS.revoke_delete.length));
      if (!revokeToken(named)) return oauthError(404, 'invalid_request', 'no such token');
      return { status: 204, body: '' };
    },
    me: (req) => {
      const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !accessToGrant.has(bearer)) return oauthError(401, 'token_expired');
      return { status: 200, body: options.account ?? { id: 'user-42', email: 'dev@adh.test' } };
    },
  };

  /** Revokes a live token's grant (the whole grant, as Dropbox does for either token); false when it was not live. */
  const revokeToken = (value: string): boolean => {
    const grant = grants.get(value) ?? accessToGrant.get(value);
    if (!grant || grant.revoked) return false;
    grant.revoked = true;
    grants.delete(grant.refreshToken);
    for (const access of grant.accessTokens) accessToGrant.delete(access);
    return true;
  };

  const endpointOf = (path: string): JsonEndpoint | 'unknown' => {
    if (path.startsWith(JSON_PROVIDER_PATHS.revoke_delete) && path.length > JSON_PROVIDER_PATHS.revoke_delete.length) return 'revoke_delete';
    return (Object.entries(JSON_PROVIDER_PATHS).find(([, p]) => p === path)?.[0] as JsonEndpoint | undefined) ?? 'unknown';
  };

  const send = (res: ServerResponse, entry: RecordedRequest, answer: Answer) => {
    entry.status = answer.status;
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...answer.headers });
    res.end(text);
  };

  const answer = (req: IncomingMessage, res: ServerResponse, entry: RecordedRequest, url: URL) => {
    const endpoint = entry.endpoint;
    if (endpoint === 'unknown') return send(res, entry, { status: 404, body: { error: 'not_found' } });
    if (POST_ENDPOINTS.has(endpoint)) {
      if (req.method !== 'POST') return send(res, entry, oauthError(405, 'invalid_request', 'POST only'));
      // The guide's endpoints take JSON only; a form-encoded RFC 6749 body is refused.
      if (!/^application\/json\b/i.test(entry.contentType)) return send(res, entry, oauthError(415, 'invalid_request', 'this endpoint accepts application/json only'));
      if (!entry.body) return send(res, entry, oauthError(400, 'invalid_request', 'the body is not a JSON object'));
    }
    // A chosen error answers a well-formed request (a form body still gets 415 above).
    const failure = failures.get(endpoint);
    if (failure && failure.remaining > 0) {
      failure.remaining -= 1;
      // Slack's Web API fails with HTTP 200 and {"ok": false, "error"}.
      if (endpoint === 'revoke_bearer') return send(res, entry, { status: failure.status === 400 ? 200 : failure.status, body: { ok: false, error: failure.error } });
      return send(res, entry, oauthError(failure.status, failure.error, failure.description));
    }
    send(res, entry, handlers[endpoint](req, url, entry.body));
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk)).on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const entry: RecordedRequest = {
        endpoint: endpointOf(url.pathname), method: req.method ?? 'GET', path: url.pathname,
        contentType: req.headers['content-type'] ?? '', raw, body: parseObject(raw), headers: { ...req.headers },
      };
      recorded.push(entry);
      if (entry.endpoint !== 'unknown' && hanging.has(entry.endpoint)) {
        const record = { endpoint: entry.endpoint, proceed: () => answer(req, res, entry, url), socket: req.socket };
        held.push(record);
        notifyHeld();
        return;
      }
      answer(req, res, entry, url);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const notifyHeld = () => {
    for (const waiter of [...heldWaiters]) {
      const record = held.find((h) => h.endpoint === waiter.endpoint && !heldReported.has(h));
      if (!record) continue;
      heldReported.add(record);
      heldWaiters.splice(heldWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  const destroyHeld = () => {
    for (const record of held.splice(0)) record.socket.destroy();
  };

  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stop = () => new Promise<void>((resolve) => {
    destroyHeld();
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const urls = Object.fromEntries(Object.entries(JSON_PROVIDER_PATHS).map(([k, p]) => [k, origin + p])) as Record<JsonEndpoint, string>;
  let open = true;

  return {
    origin,
    urls,
    clientId,
    get clientSecret() {
      return clientSecret;
    },
    get clientEnv() {
      return { JSONPROV_CLIENT_ID: clientId, JSONPROV_CLIENT_SECRET: clientSecret };
    },
    definition(overrides = {}) {
      const { oauth, ...rest } = overrides as { oauth?: Record<string, unknown> };
      return {
        schema_version: 1, name: 'jsonprov', display_name: 'JSON Provider', auth_type: 'oauth2', flow: 'pkce',
        oauth: {
          authorization_url: urls.authorize, token_url: urls.token, refresh_url: urls.refresh, revocation_url: urls.revoke,
          userinfo_url: urls.me, token_request_encoding: 'json', scopes: [], ...oauth,
        },
        host_url: `127.0.0.1:${port}`,
        client: { client_id_env: 'JSONPROV_CLIENT_ID', client_secret_env: 'JSONPROV_CLIENT_SECRET' },
        export: { env: { access_token: 'JSONPROV_TOKEN' } },
        ...rest,
      };
    },
    topLevelTokens,
    issuePair: () => issue(),
    seedRecord() {
      const pair = issue();
      const now = Date.now();
      return {
        access_token: pair.access_token, refresh_token: pair.refresh_token, token_type: 'Bearer',
        obtained_at: toRecordTimestamp(new Date(now - 3601_000)), expires_at: toRecordTimestamp(new Date(now - 1000)),
      };
    },
    isLive: (t) => grants.has(t) || accessToGrant.has(t),
    failWith(endpoint, error, opts = {}) {
      const status = opts.status ?? (error === 'invalid_client' ? 401 : error === 'server_error' ? 500 : error === 'temporarily_unavailable' ? 503 : 400);
      failures.set(endpoint, { error, description: opts.description, status, remaining: opts.times ?? 1 });
    },
    hang(endpoint) {
      hanging.add(endpoint);
    },
    nextHeld(endpoint) {
      return new Promise<void>((resolve) => {
        heldWaiters.push({ endpoint, resolve });
        notifyHeld();
      });
    },
    release() {
      hanging.clear();
      for (const record of held.splice(0)) if (!record.socket.destroyed) record.proceed();
    },
    async closePort() {
      if (!open) return;
      open = false;
      await stop();
    },
    async reopen() {
      if (open) return;
      await listen(port);
      open = true;
    },
    rotateClientSecret(next) {
      clientSecret = next ?? `jsonprov-secret-${token(8)}`;
      return clientSecret;
    },
    setTokenExtras(extras) {
      tokenExtras = extras;
    },
    resetControls() {
      failures.clear();
      hanging.clear();
    },
    count: (endpoint) => (endpoint ? recorded.filter((r) => r.endpoint === endpoint).length : recorded.length),
    requests: (endpoint) => (endpoint ? recorded.filter((r) => r.endpoint === endpoint) : [...recorded]),
    lastRequest: (endpoint) => recorded.filter((r) => r.endpoint === endpoint).at(-1) ?? null,
    clearRequests() {
      recorded.length = 0;
    },
    async close() {
      if (open) {
        open = false;
        await stop();
      }
    },
  };
}

function token(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
