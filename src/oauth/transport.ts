// The per-provider fetch adapter every OAuth request goes through: timeouts, the --verbose dump of
// each request and response (secrets registered with the redactor before anything is logged), and
// the provider quirks oauth4webapi cannot know about.
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import { displayText } from '../util/index.ts';
import { revocationStyleOf } from './revocation.ts';

export type DebugFn = (message: string, fields?: Record<string, unknown>) => void;

export interface TransportOptions {
  /** Debug sink (--verbose); receives text that the caller's redactor has not yet seen. */
  log?: DebugFn;
  /** Registers a secret with the process's redactor, before it can reach any log line. */
  onSecret?: (value: string) => void;
  /** The process's redactor: masks known secrets in provider text that is kept (an error_description). */
  redact?: (text: string) => string;
  /** Per request; RFC 6749 sets none, 20 s keeps a hung provider from hanging a login. */
  timeoutMs?: number;
  /**
   * How long opening the connection may take (default min(5 s, timeoutMs)): an unreachable token
   * endpoint (a dropped SYN, a dead route) costs a caller this long, not the whole request timeout.
   */
  connectTimeoutMs?: number;
}

/** The most of a non-JSON answer body the debug log keeps (a failure's explanation is rarely longer). */
export const LOGGED_BODY_LIMIT = 64 * 1024;

/** One connection pool per connect timeout: undici's, since Node's global fetch offers no connect timeout. */
const agents = new Map<number, Promise<{ fetch: typeof import('undici').fetch; dispatcher: import('undici').Agent }>>();

function undiciFor(connectTimeoutMs: number) {
  let agent = agents.get(connectTimeoutMs);
  if (!agent) {
    agent = import('undici').then((loaded) => {
      // A CommonJS package: the bundled CLI sees its exports under `default`, tsx beside it too.
      const undici = ('Agent' in loaded ? loaded : (loaded as unknown as { default: typeof loaded }).default);
      return { fetch: undici.fetch, dispatcher: new undici.Agent({ connect: { timeout: connectTimeoutMs } }) };
    });
    agents.set(connectTimeoutMs, agent);
  }
  return agent;
}

/** Fields that carry credentials in OAuth requests and responses (RFC 6749, 7591, 8628). */
const SECRET_FIELDS = new Set([
  'access_token', 'refresh_token', 'id_token', 'code', 'code_verifier', 'client_secret', 'device_code',
  'registration_access_token', 'token', 'password', 'client_assertion',
]);

/**
 * What a request is for, when its body alone does not say: token requests carry a grant_type, but
 * an RFC 7009 revocation request does not, and a JSON provider wants JSON there too.
 */
export type RequestPurpose = 'revocation';

/** The options object every oauth4webapi call takes: our fetch, and http:// only for loopback. */
export type RequestOptions = { [oauth.customFetch]: typeof fetch; [oauth.allowInsecureRequests]?: boolean; signal?: AbortSignal };

export class OAuthTransport {
  readonly #definition: ProviderDefinition;
  readonly #log: DebugFn;
  readonly #onSecret: (value: string) => void;
  readonly #redact: (text: string) => string;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;

  constructor(definition: ProviderDefinition, options: TransportOptions = {}) {
    this.#definition = definition;
    this.#log = options.log ?? (() => {});
    this.#onSecret = options.onSecret ?? (() => {});
    this.#redact = options.redact ?? ((text) => text);
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    this.#connectTimeoutMs = Math.min(options.connectTimeoutMs ?? 5_000, this.#timeoutMs);
  }

  /** Registers a secret the caller holds (a client secret, a stored refresh token) with the redactor. */
  secret(value: string | null | undefined): void {
    if (value) this.#onSecret(value);
  }

  /** Options for an oauth4webapi request to `url`; `purpose` names a request its body cannot identify. */
  options(url: string | URL, purpose?: RequestPurpose): RequestOptions {
    const options: RequestOptions = { [oauth.customFetch]: (input, init) => this.#fetch(input, init, purpose) };
    // oauth4webapi refuses http:// (rightly). Loopback is the one exception we allow: it never
    // leaves the machine (RFC 8252 §8.3 reasons the same way for redirect URIs), and it is what
    // local and test authorization servers use. Any other http:// endpoint stays refused.
    if (isLoopbackHttp(url)) options[oauth.allowInsecureRequests] = true;
    return options;
  }

  async #fetch(input: string | URL | Request, init: RequestInit = {}, purpose?: RequestPurpose): Promise<Response> {
    const url = String(input instanceof Request ? input.url : input);
    const method = init.method ?? 'GET';
    // The https-only rule for every request, including those that bypass oauth4webapi's own check
    // (userinfo, RFC 7592 reads, RFC 9728 challenges): a token never travels in clear off loopback.
    if (!/^https:/i.test(url) && !isLoopbackHttp(url)) throw new TypeError(`refusing to send an OAuth request over plain HTTP to ${new URL(url).origin}`);
    let body = init.body;
    const sentForm = body instanceof URLSearchParams;
    const grant = body instanceof URLSearchParams ? body.get('grant_type') : null;
    const headers = new Headers(init.headers);
    if (body instanceof URLSearchParams) {
      for (const [name, value] of body) if (SECRET_FIELDS.has(name)) this.#onSecret(value);
      this.#log(`oauth → ${method} ${url}`, { body: describeForm(body) });
      if (this.#wantsJson(body, purpose)) {
        // Some providers accept only a JSON body (token_request_encoding / device_token_request).
        body = JSON.stringify(Object.fromEntries(body));
        headers.set('content-type', 'application/json');
      }
    } else {
      this.#log(`oauth → ${method} ${url}`);
    }
    // oauth.headers: what the provider requires on every call authsome makes (the User-Agent Reddit
    // asks of every client, Notion's Notion-Version). They replace a library default (oauth4webapi's
    // own User-Agent); on a revocation, oauth.revocation.headers are more specific and keep theirs.
    const own = purpose === 'revocation' ? Object.keys(this.#definition.oauth?.revocation?.headers ?? {}).map((name) => name.toLowerCase()) : [];
    for (const [name, value] of Object.entries(this.#definition.oauth?.headers ?? {})) {
      if (!own.includes(name.toLowerCase())) headers.set(name, value);
    }
    const authorization = headers.get('authorization');
    if (authorization) {
      const credentials = authorization.replace(/^\S+\s+/, '');
      this.#onSecret(credentials);
      // client_secret_basic: the secret itself too, as a server could quote it back (RFC 6749 §2.3.1: form-encoded, then base64).
      if (/^basic\s/i.test(authorization)) this.#onSecret(basicPassword(credentials));
    }
    const started = Date.now();
    const undici = await undiciFor(this.#connectTimeoutMs);
    const response = await undici.fetch(url, {
      method, body: body as string | URLSearchParams | null | undefined, headers: Object.fromEntries(headers), redirect: 'manual',
      signal: init.signal ?? AbortSignal.timeout(this.#timeoutMs), dispatcher: undici.dispatcher,
    });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    let json = parseJsonObject(text);
    // GitHub answers form-encoded unless asked for JSON; oauth4webapi always asks, but be lenient.
    if (!json && contentType.includes('application/x-www-form-urlencoded')) json = Object.fromEntries(new URLSearchParams(text));
    this.#log(`oauth ← ${response.status} ${method} ${url} in ${Date.now() - started} ms`, {
      content_type: contentType || null,
      // Secrets are masked by field name at any depth (Slack nests a user token under authed_user)
      // and registered with the redactor. A successful answer that is not JSON but looks like tokens
      // is not logged (they would be new, unknown to the redactor); a failure's explanation is —
      // whole up to the limit — since nothing was issued and what we sent is registered already.
      body: json ? clipJson(this.#masked(json)) : response.ok && /(access|refresh|id)_token|client_secret/.test(text) ? '[unparsed answer with credentials]' : clip(text),
    });
    // oauth4webapi accepts only the registered token types (RFC 6750 Bearer, RFC 9449 DPoP); Slack
    // answers "bot" or "user" for tokens that are sent as Bearer all the same.
    if (json && typeof json.token_type === 'string' && typeof json.access_token === 'string' && !/^(bearer|dpop|n_a)$/i.test(json.token_type)) {
      this.#log(`oauth: token_type "${json.token_type}" read as Bearer`);
      json = { ...json, token_type: 'Bearer' };
    }
    // A provider that nests the tokens (Slack's user token under authed_user): they are read there.
    if (json && grant && this.#definition.oauth?.token_response_path) json = liftTokens(json, this.#definition.oauth.token_response_path, grant);
    // The provider's own words are kept (the record's last_refresh_error_description) and shown;
    // a server may quote back what it was sent — the refresh token, the client secret — so they
    // are masked here, before anything stores or prints them.
    // It is shown on terminals too: escape sequences and control characters go (util/display-text.ts), and it is cut at 1 KiB.
    if (json && typeof json.error_description === 'string') json = { ...json, error_description: this.#redact(displayText(json.error_description)).slice(0, 1024) };
    let status = response.status;
    // GitHub (and a few others) report token errors with HTTP 200 and an `error` member; RFC 6749
    // §5.2 says 400. Without this, oauth4webapi reports "access_token must be a string".
    if (json && status === 200 && typeof json.error === 'string' && !('access_token' in json)) status = 400;
    const outHeaders = new Headers(response.headers);
    if (json) outHeaders.set('content-type', 'application/json');
    outHeaders.delete('content-length');
    outHeaders.delete('content-encoding');
    // RFC 6749 §5.2: a token endpoint answers invalid_client with 401 and a WWW-Authenticate
    // challenge for the client's auth scheme (oidc-provider does). oauth4webapi would then report
    // only "a challenge"; the JSON body names the error, so that is what the caller gets.
    if (sentForm && json && typeof json.error === 'string') outHeaders.delete('www-authenticate');
    // 204 No Content (a revocation endpoint may answer so) can carry no body, not even an empty one.
    const nullBody = status === 204 || status === 205 || status === 304;
    return new Response(nullBody ? null : json ? JSON.stringify(json) : text, { status, statusText: response.statusText, headers: outHeaders });
  }

  #masked(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.#masked(item));
    if (!value || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([name, item]) => {
      if (SECRET_FIELDS.has(name) && typeof item === 'string') {
        this.#onSecret(item);
        return [name, '[REDACTED]'];
      }
      return [name, this.#masked(item)];
    }));
  }

  /**
   * Token and revocation requests to a provider that wants JSON. Device authorization, DCR and
   * other requests keep their own encoding.
   */
  #wantsJson(body: URLSearchParams, purpose: RequestPurpose | undefined): boolean {
    const o = this.#definition.oauth;
    if (!o) return false;
    // oauth.revocation.style says; without it, a provider whose token endpoints take JSON revokes
    // in JSON too ({"token","client_id","client_secret"}): revocationStyleOf.
    if (purpose === 'revocation') return revocationStyleOf(this.#definition) === 'json';
    const grant = body.get('grant_type');
    if (!grant) return false;
    if (grant === 'urn:ietf:params:oauth:grant-type:device_code') return o.device_token_request === 'json';
    return o.token_request_encoding === 'json';
  }
}

/** The token fields a nested object replaces at the top level (RFC 6749 §5.1, plus refresh_expires_in). */
const TOKEN_FIELDS = ['access_token', 'refresh_token', 'token_type', 'expires_in', 'refresh_expires_in', 'scope', 'id_token'];

/**
 * A successful token response whose tokens sit at `path` (oauth.token_response_path): the object
 * there replaces the top-level token fields, so the top-level token (Slack's bot token beside the
 * user's) is never taken for it. A code exchange must carry the object — else the answer is left
 * without an access_token and reported as invalid; a refresh answer may carry the tokens at the top
 * level instead (Slack's refresh of a user token does). An error answer is left as it is.
 */
function liftTokens(json: Record<string, unknown>, path: string, grant: string): Record<string, unknown> {
  if (typeof json.error === 'string') return json;
  let nested: unknown = json;
  for (const name of path.split('.')) nested = nested && typeof nested === 'object' && !Array.isArray(nested) ? (nested as Record<string, unknown>)[name] : undefined;
  const found = nested && typeof nested === 'object' && !Array.isArray(nested) && typeof (nested as Record<string, unknown>).access_token === 'string';
  if (!found && grant === 'refresh_token') return json;
  if (!found) throw new oauth.OperationProcessingError(`"response" body "${path}.access_token" property must be a string (the definition's oauth.token_response_path)`, { code: oauth.INVALID_RESPONSE });
  const lifted: Record<string, unknown> = Object.fromEntries(Object.entries(json).filter(([name]) => !TOKEN_FIELDS.includes(name)));
  for (const name of TOKEN_FIELDS) if (name in (nested as object)) lifted[name] = (nested as Record<string, unknown>)[name];
  // Slack names the type "user" (or leaves it out): sent as Bearer all the same, as above for the top level.
  if (typeof lifted.token_type !== 'string' || !/^(bearer|dpop|n_a)$/i.test(lifted.token_type)) lifted.token_type = 'Bearer';
  return lifted;
}

/** A body for the log: whole up to LOGGED_BODY_LIMIT, else cut there and said so. */
function clip(text: string): string {
  return text.length <= LOGGED_BODY_LIMIT ? text : `${text.slice(0, LOGGED_BODY_LIMIT)}… [${text.length - LOGGED_BODY_LIMIT} more characters]`;
}

/** A parsed body for the log: as it is, or its JSON text cut at the limit when larger. */
function clipJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text.length <= LOGGED_BODY_LIMIT ? value : clip(text);
}

function describeForm(body: URLSearchParams): Record<string, string> {
  // Values are kept: the redactor, which has just seen every secret field, masks them in the sink.
  return Object.fromEntries(body);
}

/** The password of HTTP Basic credentials, form-decoded; '' when there is none. */
function basicPassword(credentials: string): string {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return '';
  try {
    return decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    return decoded.slice(colon + 1);
  }
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  if (!text || !/^\s*\{/.test(text)) return null;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function isLoopbackHttp(url: string | URL): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'http:' && (hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]');
  } catch {
    return false;
  }
}
