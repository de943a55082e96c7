// Logging in with OAuth: pick the client (env, stored, registered on the fly, or typed into the
// local form), run the flow (PKCE, device code, client credentials), and store the tokens with
// the account they belong to. Nothing is written unless the whole login succeeded.
import {
  OAuthError, buildAuthorizationRequest, buildClient, exchangeAuthorizationCode, fetchAccount, isClientStillRegistered, pollDeviceCode, validateAuthorizationCallback,
  registerClient, requestClientCredentialsToken, requestDeviceCode, toTokenSet,
  type OAuthTransport, type ResolvedServer, type TokenResponse, type TokenSet,
} from '../oauth/index.ts';
import { isTokenResponseValue, routePlaceholders, type ProviderDefinition } from '../providers/index.ts';
import { AuthsomeError, isAuthsomeError, toAuthsomeError, toRecordTimestamp } from '../util/index.ts';
import { keys, orderRecord, type ClientRecord, type ConnectionRecord } from '../vault/index.ts';
import { addConnectionToMetadata, DEFAULT_CONNECTION } from './connections.ts';
import { requireName, type BrokerContext } from './context.ts';
import type { InputField, LoginInteraction } from './login-interaction.ts';
import { isSameClient, knownClient, markClientRejected, serverFor, transportFor, withoutRejection, type ClientChoice } from './oauth-support.ts';
import { generationOf, isRejected } from './refresh-policy.ts';
import { keptRouteValues } from './route-values.ts';
import { withRefreshExpiry } from './refresh-records.ts';
import { chooseTenant, storedTenant } from './tenant.ts';

export type OAuthFlow = 'pkce' | 'device_code' | 'dcr_pkce' | 'client_credentials';

export interface OAuthLoginOptions {
  connection?: string;
  force?: boolean;
  scopes?: string[];
  baseUrl?: string;
  /** The directory for a definition whose OAuth URLs name `{tenant}` (Microsoft): an ID, a domain, `organizations`… */
  tenant?: string;
  /** Overrides the definition's flow (e.g. device_code on a machine with no browser). */
  flow?: OAuthFlow;
}

/** What runFlow needs beyond the caller's options. */
interface FlowOptions extends OAuthLoginOptions {
  /** The login replaces a connection to ask for other scopes: the provider must ask again. */
  reconsent?: boolean;
  /** Replacing without --force (a re-consent): only by the same account. */
  sameAccountOnly?: boolean;
  /** The scopes the replaced connection was granted: a new login asks for them again. */
  previousScopes?: string[] | null;
  /** The replaced connection's tenant: a new login stays in that directory unless --tenant says otherwise. */
  replacedTenant?: string | null;
}

export interface OAuthLoginResult {
  provider: string;
  connection: string;
  profile: string;
  flow: OAuthFlow;
  replaced: boolean;
  account: { id: string | null; label: string | null };
  scopes: string[] | null;
  expires_at: string | null;
  client_source: ClientChoice['source'];
}

export async function loginWithOAuth(ctx: BrokerContext, definition: ProviderDefinition, options: OAuthLoginOptions, interaction: LoginInteraction): Promise<OAuthLoginResult> {
  const provider = definition.name;
  const connection = requireName('connection', options.connection ?? DEFAULT_CONNECTION);
  const profile = requireName('profile', ctx.profile);
  const flow = options.flow ?? (definition.flow as OAuthFlow);
  if (definition.auth_type !== 'oauth2' || flow === ('api_key' as OAuthFlow)) {
    throw new AuthsomeError('flow_unsupported', `${provider} uses an API key, not OAuth`, { hint: `authsome login ${provider}`, provider });
  }
  // Refuse early, before anyone opens a browser for a login we would not store.
  const existing = await readExisting(ctx, provider, connection, profile);
  const mayReplace = Boolean(options.force) || (existing !== null && replaceableWithoutForce(existing, options));
  if (existing && !mayReplace) throw existingConnection(provider, connection, profile);
  // A new login of a self-hosted instance stays on that instance unless told otherwise.
  const baseUrl = options.baseUrl ?? (existing && !('damaged' in existing) ? existing.base_url ?? undefined : undefined);
  // A --tenant the definition cannot use, or that is no tenant, is refused before anything opens.
  if (options.tenant !== undefined) chooseTenant(definition, { option: options.tenant, env: ctx.env });
  const replacedTenant = existing && !('damaged' in existing) ? storedTenant(existing) : null;
  const started = Date.now();
  try {
    const transport = transportFor(ctx, definition);
    const reconsent = Boolean(existing && !('damaged' in existing) && options.scopes?.length);
    const sameAccountOnly = reconsent && !options.force && !isRejected(existing as ConnectionRecord);
    const result = await runFlow(ctx, definition, flow, connection, { ...options, baseUrl, force: mayReplace, reconsent, sameAccountOnly, previousScopes: existing && !('damaged' in existing) ? existing.scopes : null, replacedTenant }, interaction, transport);
    const who = result.account.label ?? result.account.id;
    await interaction.loginFinished({ ok: true, message: `Connected to ${definition.display_name ?? provider}${who ? ` as ${who}` : ''}.` });
    ctx.auditEvent('login', {
      provider, connection, profile: profile === 'default' ? undefined : profile, flow, client_source: result.client_source,
      scopes: result.scopes ?? undefined, duration_ms: Date.now() - started, status: 'success',
    });
    return result;
  } catch (error) {
    const failure = toAuthsomeError(error);
    await Promise.resolve(interaction.loginFinished({ ok: false, message: failure.message })).catch(() => undefined);
    ctx.auditEvent('login', {
      provider, connection, flow, status: 'failure', error: failure instanceof OAuthError ? failure.error : failure.code, duration_ms: Date.now() - started,
    });
    throw failure;
  }
}

async function runFlow(
  ctx: BrokerContext, definition: ProviderDefinition, flow: OAuthFlow, connection: string, options: FlowOptions,
  interaction: LoginInteraction, transport: OAuthTransport,
): Promise<OAuthLoginResult> {
  const provider = definition.name;
  let choice = flow === 'dcr_pkce' ? await registeredClient(ctx, definition, options, interaction, transport) : await chooseClient(ctx, definition, flow, options, interaction);
  const baseUrl = options.baseUrl ?? choice.base_url ?? definition.oauth?.base_url ?? null;
  const tenant = chooseTenant(definition, { option: options.tenant, replaced: options.replacedTenant, client: choice.tenant, env: ctx.env });
  const server = await serverFor(ctx, definition, { base_url: baseUrl, tenant }, transport);
  const scopes = options.scopes ?? options.previousScopes ?? choice.record?.scopes ?? definition.oauth?.scopes ?? [];
  transport.secret(choice.client_secret);

  let response: TokenResponse;
  try {
    if (flow === 'client_credentials') {
      if (!choice.client_secret) throw new AuthsomeError('input_required', `the client credentials flow of ${provider} needs a client secret`, { provider });
      response = await exchange(requestClientCredentialsToken(definition, server, buildClient(definition, choice, server.as), { scopes }, transport));
    } else if (flow === 'device_code') {
      response = await deviceFlow(definition, server, choice, scopes, interaction, transport);
    } else {
      try {
        response = await browserFlow(definition, server, choice, scopes, interaction, transport, options.reconsent);
      } catch (error) {
        // RFC 7591 clients can be forgotten by the server; register again once and start over.
        if (flow !== 'dcr_pkce' || !(error instanceof OAuthError) || error.error !== 'invalid_client') throw error;
        interaction.info(`${provider} no longer knows the registered client; registering a new one.`);
        choice = await registeredClient(ctx, definition, { ...options, force: true }, interaction, transport, true);
        response = await browserFlow(definition, server, choice, scopes, interaction, transport, options.reconsent);
      }
    }
  } catch (error) {
    throw await clientRejection(ctx, definition, choice, error);
  }
  const tokens = toTokenSet(response, {
    requestedScopes: scopes, defaultLifetime: definition.oauth?.default_token_lifetime,
    refreshLifetime: definition.oauth?.refresh_token_lifetime, refreshIdleLifetime: definition.oauth?.refresh_token_idle_lifetime,
  });
  const userinfo = server.as.userinfo_endpoint;
  // id_tokens often carry only `sub`; the userinfo answer adds the email or login people recognise.
  const fromUserinfo = userinfo && flow !== 'client_credentials' && !tokens.account?.label ? await fetchAccount(userinfo, tokens.access_token, transport) : null;
  const account = { id: tokens.account?.id ?? fromUserinfo?.id ?? null, label: tokens.account?.label ?? fromUserinfo?.label ?? null };
  const kept = keptRouteValues(definition, response.tokens as Record<string, unknown>);
  const replaced = await storeLogin(ctx, definition, connection, { ...tokens, account, kept }, choice, { baseUrl, tenant }, flow, Boolean(options.force), Boolean(options.sameAccountOnly));
  return {
    provider, connection, profile: ctx.profile, flow, replaced, account, scopes: tokens.scopes,
    expires_at: tokens.expires_at ? toRecordTimestamp(tokens.expires_at) : null, client_source: choice.source,
  };
}

async function browserFlow(
  definition: ProviderDefinition, server: ResolvedServer, choice: ClientChoice, scopes: readonly string[], interaction: LoginInteraction, transport: OAuthTransport, reconsent = false,
): Promise<TokenResponse> {
  if (!interaction.attended) {
    throw new AuthsomeError('input_required', `logging in to ${definition.name} needs a browser, and there is neither a browser nor a terminal here`, {
      hint: `Use the device flow: authsome login ${definition.name} --flow device_code (or --no-browser to print the URL and wait).`,
      provider: definition.name,
    });
  }
  const client = buildClient(definition, choice, server.as);
  const redirectUri = await interaction.redirectUri();
  const request = await buildAuthorizationRequest(definition, server, client, { redirectUri, scopes, ...(reconsent ? { prompt: 'consent' } : {}) });
  const pending = await interaction.expectCallback(request.state, definition.name, request.url);
  try {
    await interaction.openAuthorizationUrl(pending, request.url, definition.name);
    const params = await pending.params;
    const validated = validateAuthorizationCallback(definition, server, client, request, params);
    return await exchange(exchangeAuthorizationCode(definition, server, client, request, validated, transport));
  } finally {
    pending.cancel();
  }
}

/** What the token endpoint refused while redeeming a grant: reported as `token exchange failed: <error>`. */
class TokenExchangeError extends OAuthError {}

/**
 * The token request of a login. A well-formed refusal reads as the documentation writes it —
 * `Error: token exchange failed: invalid_client` — keeping the provider's error code and words.
 */
async function exchange(request: Promise<TokenResponse>): Promise<TokenResponse> {
  try {
    return await request;
  } catch (error) {
    if (!(error instanceof OAuthError) || !error.fromProvider || error instanceof TokenExchangeError) throw error;
    throw new TokenExchangeError(error.code, `token exchange failed: ${error.error}`, error, { provider: error.provider, hint: error.description ? `The provider said: ${error.description}.` : undefined, cause: error });
  }
}

/**
 * invalid_client / unauthorized_client (RFC 6749 §5.2): the client credentials no longer match
 * the provider — usually a rotated client secret. A stored client is marked rejected (kept, never
 * deleted), so the next login asks for fresh ones instead of failing again; the message names the
 * recovery the documentation gives.
 */
async function clientRejection(ctx: BrokerContext, definition: ProviderDefinition, choice: ClientChoice, error: unknown): Promise<unknown> {
  // Only the token endpoint's invalid_client says the credentials are wrong; unauthorized_client
  // (RFC 6749 §5.2) says this client may not use this grant — a flow question, not a stale secret.
  if (!(error instanceof TokenExchangeError) || error.error !== 'invalid_client') return error;
  const provider = definition.name;
  if (choice.source !== 'env' && choice.record) {
    const key = keys.client(ctx.profile, provider);
    await ctx.vault.transaction(ctx.profile, async (tx) => {
      const latest = await tx.read('client', key);
      // The very client that was refused: one stored meanwhile (a corrected secret) is not marked.
      if (latest && isSameClient(latest, choice)) await tx.write('client', key, markClientRejected(latest, error.error, toRecordTimestamp()));
    });
  }
  const said = error.description ? `${definition.display_name ?? provider} said: ${error.description}. ` : '';
  const vars = [definition.client?.client_id_env, definition.client?.client_secret_env].filter(Boolean).join(' and ');
  const recovery = choice.source === 'env'
    ? `The client came from ${vars}: correct them (the environment wins over the form), then run authsome login ${provider} again.`
    : `Recover: authsome revoke ${provider}, then authsome login ${provider} (it collects client_id and client_secret again through the browser form).`;
  return new TokenExchangeError(error.code, error.message, error, {
    provider, hint: `${said}The OAuth client credentials do not match what ${definition.display_name ?? provider} expects (was the client secret rotated?). ${recovery}`, cause: error,
  });
}

async function deviceFlow(definition: ProviderDefinition, server: ResolvedServer, choice: ClientChoice, scopes: readonly string[], interaction: LoginInteraction, transport: OAuthTransport): Promise<TokenResponse> {
  const client = buildClient(definition, choice, server.as);
  const code = await requestDeviceCode(definition, server, client, { scopes }, transport);
  const display = await interaction.showDeviceCode(code, definition.name);
  return exchange(pollDeviceCode(definition, server, client, code, transport, { onProgress: (p) => display.progress(p) }));
}

/** Client credentials for pkce/device/client_credentials: env, stored, else the local form. */
async function chooseClient(ctx: BrokerContext, definition: ProviderDefinition, flow: OAuthFlow, options: OAuthLoginOptions, interaction: LoginInteraction): Promise<ClientChoice> {
  const known = await knownClient(ctx, definition);
  const needsBaseUrl = definitionNeedsBaseUrl(definition) && !(options.baseUrl ?? known?.base_url ?? definition.oauth?.base_url);
  if (known && !needsBaseUrl) return known;
  const fields: InputField[] = [];
  if (!known) {
    // Client credentials cannot work without a secret. A pinned confidential token_endpoint_auth_method
    // needs one too — unless the definition also takes public clients (oauth.public_client_auth: X,
    // Airtable, Reddit installed apps), which have no secret and authenticate as it says
    // (oauth/client.ts). Asked here, not found out at the token endpoint after the consent.
    const pinned = definition.oauth?.token_endpoint_auth_method;
    const secretRequired = flow === 'client_credentials' || (Boolean(pinned) && pinned !== 'none' && !definition.oauth?.public_client_auth);
    fields.push({ name: 'client_id', label: 'Client ID', secret: false, required: true });
    fields.push({
      name: 'client_secret', label: 'Client secret', secret: true, required: secretRequired,
      hint: secretRequired ? null : 'Leave empty for a public client (PKCE needs no secret).',
    });
  }
  if (!interaction.attended) {
    const vars = [definition.client?.client_id_env, definition.client?.client_secret_env].filter(Boolean).join(' and ');
    throw new AuthsomeError('input_required', `${definition.name} needs OAuth client credentials${needsBaseUrl && known ? ' and a base URL' : ''}, and nobody is here to type them`, {
      hint: vars
        ? `Set ${vars}${needsBaseUrl ? ' and pass --base-url' : ''}, or run the login in a terminal to use the local form.`
        : `Run the login in a terminal to enter them in the local form${needsBaseUrl ? ', or pass --base-url' : ''}.`,
      provider: definition.name,
    });
  }
  if (needsBaseUrl) fields.push({ name: 'base_url', label: 'Base URL', secret: false, required: true, pattern: '^https?://.+', hint: `The address of your ${definition.display_name ?? definition.name} instance, e.g. https://gitlab.example.com` });
  const redirectUri = flow === 'client_credentials' ? null : await interaction.redirectUri();
  const envHint = definition.client?.client_id_env ? ` (or set ${definition.client.client_id_env}${definition.client.client_secret_env ? ` and ${definition.client.client_secret_env}` : ''})` : '';
  interaction.info(`${definition.display_name ?? definition.name} needs your OAuth app's credentials${envHint}; opening the local form.`);
  const values = await interaction.collectInput({
    provider: definition.name,
    title: `Connect ${definition.display_name ?? definition.name}`,
    intro: `Enter the credentials of the OAuth app you registered at ${definition.display_name ?? definition.name}. They are stored encrypted on this computer.`,
    fields,
    redirectUri,
    docsUrl: definition.docs ?? null,
  });
  const base_url = values.base_url?.trim() || options.baseUrl || known?.base_url || null;
  if (known) return { ...known, base_url };
  const client_id = values.client_id?.trim();
  if (!client_id) throw new AuthsomeError('input_invalid', `no client ID was entered for ${definition.name}`, { provider: definition.name });
  return { client_id, client_secret: values.client_secret?.trim() || null, base_url, tenant: null, source: 'form', record: null };
}

/** The RFC 7591 client for dcr_pkce: the stored one while the server still knows it, else a new one. */
async function registeredClient(
  ctx: BrokerContext, definition: ProviderDefinition, options: OAuthLoginOptions, interaction: LoginInteraction, transport: OAuthTransport, forceNew = false,
): Promise<ClientChoice> {
  const known = await knownClient(ctx, definition);
  if (known && !forceNew) {
    const stillThere = known.source === 'env' ? true : await isClientStillRegistered(known.record?.metadata as { registration_client_uri?: string; registration_access_token?: string } ?? {}, transport);
    if (stillThere !== false) return known;
    interaction.info(`${definition.name} no longer knows the client registered earlier; registering a new one.`);
  }
  const server = await serverFor(ctx, definition, { base_url: options.baseUrl ?? null }, transport);
  const redirectUri = await interaction.redirectUri();
  const scopes = options.scopes ?? definition.oauth?.scopes ?? [];
  const registered = await registerClient(definition, server, { redirectUri, scopes }, transport);
  interaction.info(`Registered a client with ${definition.display_name ?? definition.name} (RFC 7591): ${registered.client_id}`);
  const record: ClientRecord = orderRecord('client', {
    profile: ctx.profile, provider: definition.name, client_id: registered.client_id, client_secret: registered.client_secret,
    base_url: options.baseUrl ?? null, host_url: definition.host_url ?? null, scopes: scopes.length ? [...scopes] : null,
    metadata: {
      source: 'dcr_generated', registered_at: toRecordTimestamp(), redirect_uri: redirectUri,
      registration_client_uri: registered.registration_client_uri, registration_access_token: registered.registration_access_token,
      token_endpoint_auth_method: registered.token_endpoint_auth_method,
    },
  });
  // Kept even if the login then fails: the next attempt reuses it rather than registering again.
  await ctx.vault.transaction(ctx.profile, (tx) => tx.write('client', keys.client(ctx.profile, definition.name), record));
  ctx.auditEvent('client_registered', { provider: definition.name, client_id: registered.client_id, status: 'success' });
  return {
    client_id: registered.client_id, client_secret: registered.client_secret, base_url: record.base_url, tenant: null, source: 'dcr_generated', record,
    registered_auth_method: registered.token_endpoint_auth_method,
  };
}

async function storeLogin(
  ctx: BrokerContext, definition: ProviderDefinition, connection: string, tokens: TokenSet & { kept: Record<string, string> }, choice: ClientChoice,
  { baseUrl, tenant }: { baseUrl: string | null; tenant: string | null }, flow: OAuthFlow, force: boolean, sameAccountOnly = false,
): Promise<boolean> {
  const provider = definition.name;
  const profile = ctx.profile;
  const recordKey = keys.connection(profile, provider, connection);
  return ctx.vault.transaction(profile, async (tx) => {
    let existing: ConnectionRecord | null = null;
    try {
      existing = await tx.read('connection', recordKey);
    } catch (error) {
      if (!force || !isAuthsomeError(error) || error.code !== 'record_malformed') throw error;
    }
    if (existing && !force) throw existingConnection(provider, connection, profile);
    if (existing && sameAccountOnly && existing.account?.id && tokens.account?.id && existing.account.id !== tokens.account.id) {
      const who = (a: { id: string | null; label: string | null }) => a.label ?? a.id;
      throw new AuthsomeError('conflict', `the sign-in was as ${who(tokens.account)}, but ${provider} (${connection}) belongs to ${who(existing.account)}; nothing was replaced`, {
        hint: `Sign in as ${who(existing.account)} to change its scopes, or keep both: authsome login ${provider} --connection NAME --scopes …`, provider, connection,
      });
    }
    const record: ConnectionRecord = withRefreshExpiry(orderRecord('connection', {
      ...(existing ?? {}),
      schema_version: 2, provider, profile, connection_name: connection, auth_type: 'oauth2', status: 'connected',
      base_url: baseUrl, host_url: definition.host_url ?? null, scopes: tokens.scopes,
      access_token: tokens.access_token, refresh_token: tokens.refresh_token, token_type: tokens.token_type,
      expires_at: tokens.expires_at ? toRecordTimestamp(tokens.expires_at) : null, obtained_at: toRecordTimestamp(tokens.obtained_at),
      api_key: null, account: tokens.account ?? { id: null, label: null },
      // A fresh login starts a new refresh history, but its generation moves on: a refresh of the
      // old grant still in flight must see that the record changed and leave the new one alone.
      metadata: { flow, generation: (existing ? generationOf(existing) : 0) + 1 },
      // Values the routes need from this login's token response (an org's instance_url); one the
      // old grant had and this response lacks is dropped, not carried over to another account.
      ...Object.fromEntries(routePlaceholders(definition).filter(isTokenResponseValue).map((name) => [name, tokens.kept[name]])),
      // The directory the grant was issued in: refreshes must go there (tenant.ts).
      tenant: tenant ?? undefined,
    }), tokens.refresh_expires_at, null, toRecordTimestamp(tokens.obtained_at));
    await tx.write('connection', recordKey, record);
    await addConnectionToMetadata(tx, profile, provider, connection);
    const clientBaseUrl = baseUrl ?? choice.base_url;
    const tenantChanged = tenant !== null && storedTenant(choice.record) !== tenant;
    if (choice.source === 'form' || choice.source === 'env' || (choice.record && (choice.record.base_url !== clientBaseUrl || tenantChanged))) {
      await tx.write('client', keys.client(profile, provider), orderRecord('client', {
        ...(choice.record ?? {}),
        profile, provider, client_id: choice.client_id, client_secret: choice.client_secret, base_url: clientBaseUrl,
        host_url: definition.host_url ?? null, scopes: choice.record?.scopes ?? null, tenant: tenant ?? undefined,
        metadata: { ...withoutRejection(choice.record?.metadata ?? {}), source: choice.source === 'stored' ? (choice.record?.metadata.source ?? 'user') : choice.source === 'form' ? 'user' : choice.source },
      }));
    }
    return existing !== null;
  });
}

/** The connection a login would replace: its record, a damaged one, or none. */
async function readExisting(ctx: BrokerContext, provider: string, connection: string, profile: string): Promise<ConnectionRecord | { damaged: true } | null> {
  return ctx.vault.read(profile, 'connection', keys.connection(profile, provider, connection)).catch((error: unknown) => {
    if (isAuthsomeError(error) && error.code === 'record_malformed') return { damaged: true as const };
    throw error;
  });
}

/**
 * Replacing a connection needs --force, except where nothing worth keeping is lost: the provider
 * rejected it (`invalid`: it can never hand out a token again), or the login asks for other
 * scopes — the re-consent the 403 recovery prescribes (`authsome login <p> --scopes a,b`),
 * which keeps the connection's name.
 */
function replaceableWithoutForce(existing: ConnectionRecord | { damaged: true }, options: OAuthLoginOptions): boolean {
  if ('damaged' in existing) return false;
  if (isRejected(existing)) return true;
  // A re-consent is the same connection asking for other scopes: not another instance.
  return Boolean(options.scopes?.length) && (options.baseUrl === undefined || options.baseUrl === existing.base_url)
    && (options.tenant === undefined || options.tenant === storedTenant(existing));
}

function existingConnection(provider: string, connection: string, profile: string): AuthsomeError {
  return new AuthsomeError('conflict', `${provider} already has a connection "${connection}" in profile "${profile}"; it was not overwritten`, {
    hint: `Pass --force to replace it, or --connection NAME to add another: authsome login ${provider} --force`,
    provider,
    connection,
  });
}

function definitionNeedsBaseUrl(definition: ProviderDefinition): boolean {
  const o = definition.oauth;
  return [o?.authorization_url, o?.token_url, o?.device_authorization_url, o?.issuer].some((url) => typeof url === 'string' && url.includes('{base_url}'));
}
