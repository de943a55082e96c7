// Child-process entry of the test authorization server (own process: oidc-provider's in-memory store is module-global).
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { autoInteraction, createProvider } from './auth-server-provider.ts';
import type { InteractionMode } from './auth-server-provider.ts';
import { findActiveToken, startResourceServer } from './resource-server.ts';

interface Options {
  accessTokenTtl?: number;
  deviceCodeTtl?: number;
  refreshTokenTtl?: number;
  interaction?: InteractionMode;
  /** Token answers without these fields (Salesforce's carry no expires_in). */
  omitTokenFields?: string[];
  /** Fields every token answer carries besides the tokens (Salesforce's instance_url). */
  addTokenFields?: Record<string, unknown>;
  loopbackResources?: boolean;
}

/**
 * Providers' own URL layouts in front of the same server, so a bundled definition can log in here
 * with only its origin replaced: Microsoft's /{tenant}/oauth2/v2.0/… (the tenant is recorded with
 * the request) and Salesforce's /services/oauth2/….
 */
const LAYOUTS: Array<[RegExp, string]> = [
  [/^\/[A-Za-z0-9.-]+\/oauth2\/v2\.0\/authorize$/, '/auth'],
  [/^\/[A-Za-z0-9.-]+\/oauth2\/v2\.0\/token$/, '/token'],
  [/^\/[A-Za-z0-9.-]+\/oauth2\/v2\.0\/devicecode$/, '/device/auth'],
  [/^\/services\/oauth2\/authorize$/, '/auth'],
  [/^\/services\/oauth2\/token$/, '/token'],
  [/^\/services\/oauth2\/revoke$/, '/token/revocation'],
  [/^\/services\/oauth2\/userinfo$/, '/me'],
];

/** Every request the server received (but control requests): method, path as sent, headers. */
const requests: Array<{ method: string; path: string; headers: Record<string, string | string[] | undefined> }> = [];

// auth-server.ts passes the options as JSON in argv[2] and waits for the ready line printed at the end.
const options = JSON.parse(process.argv[2] ?? '{}') as Options;
let mode: InteractionMode = options.interaction ?? 'approve';
/** When set, dynamic registrations get this token_endpoint_auth_method whatever they ask (RFC 7591 §3.2.1 lets a server replace it). */
let registrationAuthMethod: string | null = null;

// The parent holds our stdin pipe: EOF means it closed us or died, either way we go.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

const emptyCounts = () => ({ token: {} as Record<string, number>, tokenAuth: {} as Record<string, number>, revocation: 0, registration: 0, deviceAuthorization: 0, introspection: 0 });
let counts = emptyCounts();
/** Every access_token, refresh_token and id_token the token endpoint answered with, in order (never reset). */
const issued: string[] = [];
const ISSUED_FIELDS = ['access_token', 'refresh_token', 'id_token'] as const;

/**
 * Records the tokens of a token endpoint response by watching what is written to `res` (Koa ends a JSON body
 * with one res.end(string); chunks from res.write are kept too). Every call is passed on unchanged, so the
 * provider behaves exactly as without it.
 */
function captureIssuedTokens(res: ServerResponse): void {
  const rewrite = Boolean(options.omitTokenFields?.length || options.addTokenFields);
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      for (const field of ISSUED_FIELDS) if (typeof body[field] === 'string') issued.push(body[field]);
      if (rewrite && typeof body.access_token === 'string' && chunks.length === 1 && !this.headersSent) {
        for (const field of options.omitTokenFields ?? []) delete body[field];
        Object.assign(body, options.addTokenFields ?? {});
        this.removeHeader('content-length');
        return (end as (...args: unknown[]) => ServerResponse).call(this, JSON.stringify(body));
      }
    } catch {
      // not JSON (or empty): nothing issued
    }
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof res.end;
}

const resource = await startResourceServer();
const server = http.createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const provider = createProvider({
  issuer,
  resourceUrl: resource.resourceUrl,
  accessTokenTtl: options.accessTokenTtl ?? 3600,
  deviceCodeTtl: options.deviceCodeTtl ?? 600,
  refreshTokenTtl: options.refreshTokenTtl ?? 86400,
  loopbackResources: options.loopbackResources,
});
resource.attach(provider, issuer);
provider.on('server_error', (_ctx: unknown, err: unknown) => console.error('provider server_error', err));

// Count every POST to the counted endpoints after the provider has parsed it, success or failure: the parsed
// parameters are there even when client authentication or the grant fails, and the request body stays untouched.
provider.use(async (ctx: { method: string; path: string; headers?: Record<string, unknown>; oidc?: { params?: Record<string, unknown> } }, next: () => Promise<void>) => {
  try {
    await next();
  } finally {
    if (ctx.method === 'POST') {
      if (ctx.path === '/token') {
        const grantType = String(ctx.oidc?.params?.grant_type ?? '(none)');
        counts.token[grantType] = (counts.token[grantType] ?? 0) + 1;
        // How the client authenticated (RFC 6749 §2.3.1): Basic, the secret in the body, or neither.
        const auth = /^Basic /i.test(String(ctx.headers?.authorization ?? '')) ? 'client_secret_basic' : ctx.oidc?.params?.client_secret !== undefined ? 'client_secret_post' : 'none';
        counts.tokenAuth[auth] = (counts.tokenAuth[auth] ?? 0) + 1;
      } else if (ctx.path === '/token/revocation') counts.revocation++;
      else if (ctx.path === '/token/introspection') counts.introspection++;
      else if (ctx.path === '/reg') counts.registration++;
      else if (ctx.path === '/device/auth') counts.deviceAuthorization++;
    }
  }
});

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Test-only control endpoints under /__control/. */
async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const route = `${req.method} ${path}`;
  if (route === 'GET counts') return send(res, 200, counts);
  if (route === 'GET issued') return send(res, 200, { tokens: issued });
  if (route === 'GET requests') return send(res, 200, { requests });
  if (route === 'POST reset-counts') {
    counts = emptyCounts();
    requests.length = 0;
    return send(res, 200, counts);
  }
  if (route === 'POST interaction') {
    const body = await readJson(req);
    if (body.mode !== 'approve' && body.mode !== 'deny') return send(res, 400, { error: 'mode must be approve or deny' });
    mode = body.mode;
    return send(res, 200, { mode });
  }
  if (route === 'POST registration-auth-method') {
    const body = await readJson(req);
    registrationAuthMethod = typeof body.method === 'string' ? body.method : null;
    return send(res, 200, { method: registrationAuthMethod });
  }
  if (route === 'POST introspect') {
    const body = await readJson(req);
    const token = typeof body.token === 'string' ? await findActiveToken(provider, body.token) : undefined;
    return send(res, 200, token ? { active: true, ...token } : { active: false });
  }
  const client = /^DELETE clients\/(.+)$/.exec(route);
  if (client) {
    const id = decodeURIComponent(client[1]!);
    const found = await provider.Client.find(id);
    if (!found) return send(res, 404, { error: 'no such client' });
    if (found.noManage) return send(res, 400, { error: 'pre-registered clients cannot be deleted' });
    await provider.Client.adapter.destroy(id);
    return send(res, 200, { deleted: id });
  }
  send(res, 404, { error: `unknown control route ${route}` });
}

const providerCallback = provider.callback();

/**
 * A registration whose token_endpoint_auth_method the server replaces: the body is read here and
 * handed to oidc-provider as an already parsed body (it reads req.body when the stream is consumed).
 */
async function replaceAuthMethod(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
  const body = await readJson(req);
  (req as IncomingMessage & { body?: string }).body = JSON.stringify({ ...body, token_endpoint_auth_method: method });
  await providerCallback(req, res);
}
server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', issuer);
  if (!url.pathname.startsWith('/__control/')) requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: { ...req.headers } });
  const alias = LAYOUTS.find(([pattern]) => pattern.test(url.pathname))?.[1];
  if (alias) req.url = alias + url.search;
  const path = alias ?? url.pathname;
  if (req.method === 'POST' && path === '/token') captureIssuedTokens(res);
  const handled = path.startsWith('/__control/')
    ? control(req, res, path.slice('/__control/'.length))
    : path.startsWith('/interaction/')
      ? autoInteraction(provider, mode, req, res)
      : undefined;
  if (!handled && req.method === 'POST' && path === '/reg' && registrationAuthMethod) return void replaceAuthMethod(req, res, registrationAuthMethod);
  if (!handled) return providerCallback(req, res);
  handled.catch((err: unknown) => {
    console.error(`test auth server: ${req.method} ${path} failed`, err);
    if (!res.headersSent) send(res, 500, { error: String(err) });
  });
});

console.log(JSON.stringify({ ready: true, issuer, resourceUrl: resource.resourceUrl, apiUrl: resource.apiUrl }));
