// The provider definition schema: accepts every Python authsome 0.2.x definition unchanged,
// keeps unknown keys (the Python models allow extras; known-fields.ts reports them), and adds the
// fields real services need.
import { z } from 'zod';
import { parseRouteTarget, placeholderProblem } from './route-rule.ts';
import { TENANT_PATTERN } from './template.ts';

const url = z.string().min(1);
const nullableUrl = url.nullish();

/**
 * Headers a definition may not fix: the credential's own (the definition's scheme decides it), the
 * proxy's, and those that frame the message or name its target (RFC 9110 §7.2, RFC 9112 §6-7).
 */
const UNSETTABLE_HEADERS = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'host', 'content-length', 'content-type', 'transfer-encoding', 'connection',
  'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'expect',
]);

/** An HTTP header name (RFC 9110 §5.1 token) and a value of visible ASCII and spaces (§5.5: no CR or LF). */
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
const headerValue = z.string().max(1024).regex(/^[\x20-\x7e]*$/, 'must be printable ASCII (no control characters, no line breaks)');
const headerMap = z.record(headerName, headerValue);
/** Fixed headers a definition adds to requests: never one that carries a credential or frames the message. */
const fixedHeaders = z.record(headerName.refine((name) => !UNSETTABLE_HEADERS.has(name.toLowerCase()), { message: 'cannot be set here (the credential, the proxy or HTTP framing owns it)' }), headerValue);

export const revocationSchema = z.looseObject({
  /**
   * rfc7009: a form body {token, token_type_hint} with client authentication (RFC 7009 §2.1);
   * json: a JSON body {token, client_id, client_secret}; bearer: the token itself authenticates
   * the call, as `Authorization: Bearer` (Dropbox /2/auth/token/revoke, Slack auth.revoke).
   */
  style: z.enum(['rfc7009', 'json', 'bearer']).nullish(),
  /** DELETE sends no body: revocation_url names the token with {token}. */
  method: z.enum(['POST', 'DELETE']).nullish(),
  /** Which token to revoke (default: the refresh token, or for bearer the access token). */
  token: z.enum(['refresh_token', 'access_token']).nullish(),
  /** Extra headers on the revocation request, e.g. Notion's Notion-Version. */
  headers: fixedHeaders.nullish(),
});

export const oauthSchema = z.looseObject({
  base_url: nullableUrl,
  authorization_url: nullableUrl,
  token_url: nullableUrl,
  revocation_url: nullableUrl,
  device_authorization_url: nullableUrl,
  /** How the device-code token request is encoded (Python field). */
  device_token_request: z.enum(['oauth2_form', 'json']).nullish(),
  registration_endpoint: nullableUrl,
  userinfo_url: nullableUrl,
  scopes: z.array(z.string()).nullish(),
  pkce: z.boolean().nullish(),
  supports_device_flow: z.boolean().nullish(),
  supports_dcr: z.boolean().nullish(),
  // Additions beyond the Python schema.
  /** Where refresh grants go. RFC 6749 §6 sends them to the token endpoint; some providers serve them at a URL of their own. */
  refresh_url: nullableUrl,
  /** The RFC 8414 issuer: login reads the server's metadata, enabling the RFC 9207 `iss` check. */
  issuer: nullableUrl,
  token_request_encoding: z.enum(['form', 'json']).nullish(),
  token_endpoint_auth_method: z.enum(['client_secret_post', 'client_secret_basic', 'none']).nullish(),
  /**
   * How a client with no secret (a public client, RFC 6749 §2.1) authenticates: "none" (default) sends
   * client_id in the body (§3.2.1; X, Airtable); "basic_empty_secret" sends Basic client_id with an
   * empty password (Reddit's installed apps).
   */
  public_client_auth: z.enum(['none', 'basic_empty_secret']).nullish(),
  /** How scopes are joined in requests: " " (RFC 6749 §3.3, default) or "," (Slack, Linear). */
  scope_separator: z.enum([' ', ',']).nullish(),
  /**
   * PKCE (RFC 7636): "optional" (default) always sends S256; "required" also refuses a server whose
   * metadata does not offer S256; "unsupported" sends no code_challenge and no code_verifier.
   */
  pkce_support: z.enum(['required', 'optional', 'unsupported']).nullish(),
  /** Text before the access token in Authorization: "" for the bare token (Postiz); default the token_type, Bearer. */
  header_prefix: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]*$/, 'must be an HTTP auth scheme (a token, RFC 9110 §11.1) or ""').nullish(),
  /** Extra authorization request parameters, e.g. Google's access_type=offline. */
  authorize_params: z.record(z.string(), z.string()).nullish(),
  /** RFC 8707 resource indicator (MCP servers require it). */
  resource: nullableUrl,
  /** Seconds to assume when a token response carries no expires_in. */
  default_token_lifetime: z.number().int().positive().nullish(),
  /**
   * Where in a token response the tokens are, for a provider that nests them (Slack's user token
   * under `authed_user`): a dotted path to an object holding access_token, refresh_token, expires_in, scope.
   */
  token_response_path: z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, 'must be a dotted path of field names, e.g. "authed_user"').nullish(),
  /** Seconds a refresh token lives from when it is issued, when responses do not say (no refresh_expires_in). */
  refresh_token_lifetime: z.number().int().positive().nullish(),
  /** Seconds a refresh token lives unused: each refresh starts the window again (a documented idle expiry). */
  refresh_token_idle_lifetime: z.number().int().positive().nullish(),
  /** How the provider revokes a token, when it is not RFC 7009's form POST (revocation.ts). */
  revocation: revocationSchema.nullish(),
  /**
   * The default of `{tenant}` in the URLs above: the directory a Microsoft login goes to (`common`,
   * `organizations`, `consumers`, a tenant ID or domain). `login --tenant` chooses another.
   */
  tenant: z.string().regex(TENANT_PATTERN, 'must be a tenant name, ID or domain (letters, digits, "." and "-")').nullish(),
  /**
   * Fixed headers on every request authsome itself sends the provider — token, refresh,
   * revocation, device, registration, userinfo — e.g. the User-Agent Reddit requires, Notion's Notion-Version.
   */
  headers: fixedHeaders.nullish(),
});

/** {key} and the connection record's own fields: a part named so would be read in their place by export. */
const RESERVED_PART_NAMES = new Set([
  'key', 'schema_version', 'provider', 'profile', 'connection_name', 'auth_type', 'status', 'base_url', 'host_url', 'scopes',
  'access_token', 'refresh_token', 'token_type', 'expires_at', 'obtained_at', 'api_key', 'api_key_fields', 'account', 'metadata',
  'client_id', 'client_secret',
]);

export const apiKeySchema = z.looseObject({
  header_name: z.string().min(1).nullish(),
  header_prefix: z.string().nullish(),
  /** Matched whole (Python's re.fullmatch) with RE2 in linear time; checked when a file is registered (load.ts). */
  key_pattern: z.string().nullish(),
  key_pattern_hint: z.string().nullish(),
  // Additions beyond the Python schema.
  /** The environment variable `login` reads the key from. */
  env_var: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').nullish(),
  /** Where the key travels: a header (default), a query parameter, or HTTP basic auth (key = "user:secret"). */
  location: z.enum(['header', 'query', 'basic']).nullish(),
  query_param: z.string().min(1).nullish(),
  /**
   * With location "basic": how the key becomes "user:password" before base64 (RFC 7617 §2).
   * "{key}" (default) when the key is itself a pair (Twilio SID:token); "{key}:" for a key as
   * username with no password (Ashby); ":{key}" or "any:{key}" for a key as password.
   */
  basic_template: z.string().regex(/\{[a-z][a-z0-9_]*\}/, 'must contain {key} or a {field} of api_key.fields').includes(':', { message: 'must contain ":"' }).nullish(),
  /**
   * A credential of several parts (Twilio Account SID + Auth Token, Cloudflare email + Global API
   * Key): each is collected at login, stored in the record, exported under its own variable, and
   * named in basic_template or headers as {name}. {key} is the first secret part.
   */
  fields: z.array(z.looseObject({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower-case letters, digits and "_"').max(64).refine((name) => !RESERVED_PART_NAMES.has(name), 'must not be "key" or a field of the connection record (api_key, provider, status…)'),
    label: z.string().min(1).nullish(),
    /** Where `login` reads it from, and the variable `export` and `run` give it. */
    env_var: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').nullish(),
    /** Default true. A part that is not secret (an account ID) is shown, and `run` gives the child its real value. */
    secret: z.boolean().nullish(),
    hint: z.string().nullish(),
  })).min(1).nullish(),
  /** Headers to send, each a template of {key} and {field} names (Cloudflare: X-Auth-Email and X-Auth-Key). */
  headers: headerMap.nullish(),
});

/** A route: where the credential goes, and the fixed headers requests there carry (an API version, a User-Agent). */
export const routeSchema = z.strictObject({
  url: z.string().min(1),
  headers: fixedHeaders.nullish(),
});

export const providerSchema = z
  .looseObject({
    schema_version: z.number().int().positive().default(1),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower-case letters, digits, ".", "_" or "-" (it is part of store keys)')
      .max(64, 'must be at most 64 characters (it is part of store keys and file names)'),
    display_name: z.string().min(1).nullish(),
    auth_type: z.enum(['oauth2', 'api_key']),
    flow: z.enum(['pkce', 'device_code', 'dcr_pkce', 'api_key', 'client_credentials']),
    oauth: oauthSchema.nullish(),
    api_key: apiKeySchema.nullish(),
    host_url: z.string().nullish(),
    /** Addition: every origin (and path prefix) the credential goes to under `run`; replaces host_url there. */
    routes: z.array(routeSchema).min(1).nullish(),
    export: z
      .looseObject({
        env: z.record(z.string(), z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')).nullish(),
      })
      .nullish(),
    /** A link to the provider's documentation, for people (the Python authsome keeps it as an extra field). */
    docs: z.string().nullish(),
    /**
     * Addition: where the definition's facts come from. Each entry is a page of the provider's own
     * documentation or official SDK (https) and the field paths of this definition it states
     * (`routes`, `api_key.header_prefix`, `oauth.token_url`, `oauth.scopes`); a path covers the
     * fields below it.
     */
    sources: z.array(z.strictObject({
      url: z.url({ protocol: /^https$/, error: 'must be an https URL' }),
      facts: z.array(z.string().regex(/^[a-z_]+(\.[a-z_]+)*$/, 'must be a field path of the definition, e.g. "routes" or "oauth.token_url"')).min(1),
    })).min(1).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    /**
     * Addition: another way to log in to the API of the provider named here (Klaviyo's OAuth beside
     * its private keys, Cloudflare's Global API Key beside its API tokens). Both claim the same
     * routes; whichever one is connected carries the request, and `route` names this one's base
     * when neither is (route-explanation.ts).
     */
    variant_of: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a provider name').max(64).nullish(),
    client: z
      .looseObject({
        client_id_env: z.string().nullish(),
        client_secret_env: z.string().nullish(),
        /** Addition: the variable `login` reads `{tenant}` from when --tenant is not given. */
        tenant_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').nullish(),
      })
      .nullish(),
  })
  .superRefine((def, ctx) => {
    if (def.auth_type === 'oauth2') {
      if (def.flow === 'api_key') ctx.addIssue({ code: 'custom', path: ['flow'], message: 'api_key flow needs auth_type "api_key"' });
      if (!def.oauth) ctx.addIssue({ code: 'custom', path: ['oauth'], message: 'is required when auth_type is "oauth2"' });
      else if (!def.oauth.token_url && !def.oauth.issuer && def.flow !== 'dcr_pkce')
        ctx.addIssue({ code: 'custom', path: ['oauth', 'token_url'], message: 'is required for the ' + def.flow + ' flow' });
      if (def.oauth && def.flow === 'pkce' && !def.oauth.authorization_url && !def.oauth.issuer)
        ctx.addIssue({ code: 'custom', path: ['oauth', 'authorization_url'], message: 'is required for the pkce flow' });
      if (def.oauth && def.flow === 'device_code' && !def.oauth.device_authorization_url && !def.oauth.issuer)
        ctx.addIssue({ code: 'custom', path: ['oauth', 'device_authorization_url'], message: 'is required for the device_code flow' });
    } else if (def.flow !== 'api_key') {
      ctx.addIssue({ code: 'custom', path: ['flow'], message: 'must be "api_key" when auth_type is "api_key"' });
    }
    def.routes?.forEach((route, i) => {
      const problem = placeholderProblem(route.url) ?? targetProblem(route.url);
      if (problem) ctx.addIssue({ code: 'custom', path: ['routes', i, 'url'], message: problem });
      const credentialHeader = def.auth_type === 'api_key' && (def.api_key?.location ?? 'header') === 'header' ? (def.api_key?.header_name ?? 'Authorization').toLowerCase() : null;
      for (const name of Object.keys(route.headers ?? {})) {
        if (name.toLowerCase() === credentialHeader) ctx.addIssue({ code: 'custom', path: ['routes', i, 'headers', name], message: 'is the header that carries the API key' });
      }
    });
    if (def.variant_of === def.name) ctx.addIssue({ code: 'custom', path: ['variant_of'], message: 'must name another provider' });
    const revocation = def.oauth?.revocation;
    if (revocation && def.oauth && !def.oauth.revocation_url && !def.oauth.issuer)
      ctx.addIssue({ code: 'custom', path: ['oauth', 'revocation_url'], message: 'is required when oauth.revocation is given' });
    if (revocation?.method === 'DELETE' && revocation.style !== 'bearer' && !def.oauth?.revocation_url?.includes('{token}'))
      ctx.addIssue({ code: 'custom', path: ['oauth', 'revocation_url'], message: 'must name the token with {token} when oauth.revocation.method is "DELETE" (a DELETE carries no body)' });
    const fields = def.api_key?.fields ?? [];
    const names = new Set(['key']);
    fields.forEach((field, index) => {
      if (names.has(field.name)) ctx.addIssue({ code: 'custom', path: ['api_key', 'fields', index, 'name'], message: `"${field.name}" is named twice` });
      names.add(field.name);
    });
    if (fields.length && !fields.some((field) => field.secret !== false))
      ctx.addIssue({ code: 'custom', path: ['api_key', 'fields'], message: 'must have a secret part (one without "secret": false)' });
    // Every {name} a template uses must be a part the login collects.
    const templates: Array<[string, (string | number)[]]> = [];
    if (def.api_key?.basic_template) templates.push([def.api_key.basic_template, ['api_key', 'basic_template']]);
    for (const [header, template] of Object.entries(def.api_key?.headers ?? {})) templates.push([template, ['api_key', 'headers', header]]);
    for (const [template, path] of templates) {
      for (const [, name] of template.matchAll(/\{([^{}]*)\}/g)) {
        if (!names.has(name!)) ctx.addIssue({ code: 'custom', path, message: `{${name}} is not {key} or a name in api_key.fields` });
      }
    }
    // A source names a fact this definition states: a path to a field it has (a typo would cite nothing).
    def.sources?.forEach((source, i) => source.facts.forEach((fact, j) => {
      if (fact === 'sources' || !hasField(def, fact)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'facts', j], message: `"${fact}" names no field this definition sets` });
    }));
    if (def.api_key?.location === 'query' && !def.api_key.query_param)
      ctx.addIssue({ code: 'custom', path: ['api_key', 'query_param'], message: 'is required when location is "query"' });
  });

export type ProviderDefinition = z.infer<typeof providerSchema>;

/** Whether a dotted field path leads to a value the definition sets. */
function hasField(def: object, path: string): boolean {
  let node: unknown = def;
  for (const field of path.split('.')) {
    if (!node || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, field)) return false;
    node = (node as Record<string, unknown>)[field];
  }
  return node !== undefined && node !== null;
}

/** Why a route's URL cannot be parsed (a placeholder stands for an https origin), or null. */
function targetProblem(url: string): string | null {
  if (url.startsWith('regex:')) return 'cannot be a regex: pattern (host_url can); use a wildcard host, e.g. "https://*.example.com"';
  try {
    parseRouteTarget(url.replace(/^\{[a-z][a-z0-9_]*\}/, 'https://placeholder.invalid'));
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
