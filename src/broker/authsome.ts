// The Authsome service: the one API every door (CLI, library, daemon, proxy, MCP) uses. Each method
// loads the code it needs when it runs (`await import`): a `get` of a key or of a token not yet due
// loads no OAuth, routing, removal, doctor or rekey code, only the access path (issue 18).
import { join } from 'node:path';
import { AuditLog, debugLog, type AuditEntry } from '../audit/index.ts';
import { routeTemplates, type ProviderEntry, type RegisteredProvider } from '../providers/index.ts';
import { AuthsomeError, credentialProblem, JSON_CONTRACT_VERSION, resolveSettings, toAuthsomeError, VERSION, type Environment, type Settings, type SettingsOverrides } from '../util/index.ts';
import {
  DEFAULT_PROFILE, describeKeySource, keys, parseKey,
  type ConnectionRecord, type KeySourceName, type StoreChange,
} from '../vault/index.ts';
import type { ApiKeyLoginOptions, LoginResult } from './api-key-login.ts';
import { DEFAULT_CONNECTION, requireConnection } from './connections.ts';
import { connectionState, type ConnectionState } from './connection-state.ts';
import { generationOf, isDue, isRejected, lapseWarning } from './refresh-policy.ts';
import { hasRescue } from './refresh-rescue.ts';
import type { Injection, RouteSpec } from './proxy-support.ts';
import type { RouteExplanation, Unrouted } from './route-explanation.ts';
import { BrokerContext, requireName } from './context.ts';
import { credentialParts } from './api-key-parts.ts';
import { authHeaders, connectionField, credentialValue, isSecretField, presentConnection, revealsSecret } from './credentials.ts';
import type { DoctorReport } from './doctor.ts';
import type { ConnectionView } from './connection-view.ts';
import type { MigrationOptions, MigrationResult } from './store-migration.ts';
import type { ExportedVariable } from './export.ts';
import type { ListResult } from './list.ts';
import type { ConnectionUsage } from './connection-usage.ts';
import type { InputRequest, LoginInteraction } from './login-interaction.ts';
import type { OAuthLoginOptions, OAuthLoginResult } from './oauth-login.ts';
import { createProfile, listProfiles, useProfile, type ProfileInfo } from './profiles.ts';
import type { RekeyOptions, RekeyResult } from './rekey.ts';
import type { RemovalResult } from './removal.ts';
import type { UnregisterResult } from './unregister.ts';
import type { RequestCredential, RequestHeaders } from './request-headers.ts';
import type { CredentialCache } from './credential-cache.ts';
import type { AuthenticatedResponse } from './authenticated-fetch.ts';

export interface AuthsomeOptions extends SettingsOverrides {
  /**
   * Told when a credential is handed out with a caveat — a refresh failed for a transient reason
   * and the current token, still valid, is used until it expires. Default: the --verbose log only.
   */
  onWarning?: (message: string) => void;
  /** Environment to read AUTHSOME_* settings from; defaults to process.env. */
  env?: Environment;
  /** Resolved settings (the CLI passes its own); overrides home/profile/env. */
  settings?: Settings;
}

export interface RefreshResult {
  provider: string;
  connection: string;
  /** This call renewed the token (false: another process had just done it). */
  refreshed: boolean;
  status: string;
  expires_at: string | null;
  generation: number;
  /** Set when the refresh failed for a transient reason and the current, still valid token stays in use. */
  warning?: string;
}

/** What `read` found: the value to show, the connection's state after the access, and a failed renewal. */
export interface ConnectionRead {
  value: unknown;
  status: ConnectionState;
  /** The renewal of a due token failed (the connection is now expired or invalid); null otherwise. */
  failure: AuthsomeError | null;
  /** The value is a revealed secret (--show-secret of a secret field or a credential part): printed exactly. */
  revealed: boolean;
}

/** A credential handed to an agent through the daemon's API. */
export interface IssuedCredential {
  provider: string;
  connection: string;
  profile: string;
  auth_type: ConnectionRecord['auth_type'];
  /** The API key or the access token. */
  credential: string;
  token_type: string | null;
  /** The headers that carry it, built from the provider definition. */
  headers: Record<string, string>;
  expires_at: string | null;
  status: ConnectionState;
}

export interface InitResult {
  home: string;
  profile: string;
  key_source: string;
  created: boolean;
  /** Where records live: the SQLite folder, or the PostgreSQL URL without its password. */
  store: string;
}

export interface WhoAmI {
  home: string;
  profile: string;
  key_source: string | null;
  store: string;
  /** This authsome's version (the package's). */
  version: string;
  /** The store format's version ("2", as the Python authsome 0.2 writes it). */
  store_version: string;
  /** The version of the JSON contract every --json output follows (README, "JSON output"). */
  json_contract: number;
  connections: number;
}

/** A provider definition and where it comes from; names as `inspect --json` prints them. */
export interface ProviderInfo {
  source: ProviderEntry['source'];
  /** The file, or the bundled catalogue's. */
  path: string;
  /** A custom file that replaces a bundled definition of the same name. */
  overrides_bundled: boolean;
  definition: ProviderEntry['definition'];
}

/** What `register` installed (`register --json`): `warnings` names fields no schema knows, kept but unused. */
export interface RegisterResult extends ProviderInfo {
  name: string;
  warnings: Array<{ field: string; message: string }>;
}

function providerInfo(entry: ProviderEntry): ProviderInfo {
  return { source: entry.source, path: entry.path, overrides_bundled: entry.overridesBundled, definition: entry.definition };
}

/** A connection `run` leaves out, and why. */
export interface SkippedRoute {
  provider: string;
  connection: string;
  reason: string;
}

export class Authsome {
  readonly #ctx: BrokerContext;
  readonly #onWarning: (message: string) => void;
  /** Read views of the home's other profiles, made on first use (#readContext). */
  readonly #profileViews = new Map<string, BrokerContext>();
  /** fetch()'s credentials: the proxy's bounds on refreshing after a 401 hold per instance (made on first use). */
  #credentials: CredentialCache | null = null;

  constructor(options: AuthsomeOptions = {}) {
    const env = options.env ?? process.env;
    const settings = options.settings ?? resolveSettings(env, options);
    this.#ctx = new BrokerContext(settings, debugLog({ verbose: settings.verbose, file: join(settings.home, 'logs', 'authsome.log') }), env);
    this.#onWarning = options.onWarning ?? ((message) => this.#ctx.log.debug(`warning: ${message}`));
    this.#ctx.onWarning = (message) => this.#onWarning(message);
  }

  get home(): string {
    return this.#ctx.settings.home;
  }

  get profile(): string {
    return this.#ctx.profile;
  }

  /** Creates the home, the default profile and the master key (idempotent). */
  async init(options: { keySource?: KeySourceName; storeUrl?: string } = {}): Promise<InitResult> {
    const { home, vault, settings } = this.#ctx;
    const [{ chooseStore }, { chooseKeySource }] = await Promise.all([import('./store-choice.ts'), import('./key-setup.ts')]);
    if (options.storeUrl !== undefined) await chooseStore(this.#ctx, options.storeUrl);
    const hadConfig = home.hasConfig();
    // A key that is there but does not open (a wrong passphrase, a damaged master.key) fails here:
    // it is never a reason to make a new one over the records it seals.
    const existed = home.exists() && (await vault.keyRing(false)) !== null;
    const config = home.readConfig();
    const wanted = options.keySource ?? config.encryption.mode;
    if (existed && wanted !== config.encryption.mode) {
      throw new AuthsomeError('conflict', `${home.root} is already set up with the ${config.encryption.mode} key source`, {
        hint: 'Changing the key source of an existing store is not supported; start a new AUTHSOME_HOME.',
      });
    }
    if (!existed && !settings.masterKey) await chooseKeySource(this.#ctx, wanted, { hadConfig, explicit: options.keySource !== undefined });
    home.ensureLayout();
    const ring = await vault.keyRing(true);
    home.ensureProfile(this.profile);
    if (!existed) this.#ctx.auditEvent('init', { key_source: ring ? describeKeySource(ring.source) : wanted, status: 'success' });
    return { home: home.root, profile: this.profile, key_source: ring ? describeKeySource(ring.source) : wanted, created: !existed, store: vault.backend().location };
  }

  async whoami(): Promise<WhoAmI> {
    const { home, vault } = this.#ctx;
    const ring = home.exists() ? await vault.keyRing(false) : null;
    // Counted by key, without opening a record: whoami is a question about the home, and a profile
    // of 10,000 connections made it decrypt every one (issue 18).
    const count = home.exists() ? await this.#countConnections() : 0;
    return {
      home: home.root,
      profile: this.profile,
      key_source: ring ? describeKeySource(ring.source) : null,
      store: this.#ctx.vault.backend().kind === 'sqlite' ? home.storeFile(this.profile) : this.#ctx.vault.backend().location,
      version: VERSION,
      store_version: '2',
      json_contract: JSON_CONTRACT_VERSION,
      connections: count,
    };
  }

  async #countConnections(): Promise<number> {
    const profile = this.#ctx.requireProfileForRead();
    const entries = await this.#ctx.vault.store(profile).list(keys.profilePrefix(profile));
    return entries.filter((entry) => parseKey(entry.key)?.kind === 'connection').length;
  }

  /** Every provider with its connections, in this profile or (`profile`) another of the home's. */
  async list(options: { profile?: string } = {}): Promise<ListResult> {
    const { listProviders } = await import('./list.ts');
    return listProviders(await this.#readContext(options.profile));
  }

  /** For each connection, the variable names and a routed URL its usage lines are built from (no value). */
  async connectionUsage(options: { profile?: string } = {}): Promise<ConnectionUsage[]> {
    const { connectionUsage } = await import('./connection-usage.ts');
    return connectionUsage(await this.#readContext(options.profile));
  }

  /** The names of every provider definition (bundled and the home's), without opening the store. */
  async providerNames(): Promise<string[]> {
    return (await this.#ctx.registry.all()).entries.map((entry) => entry.definition.name);
  }

  /** A provider definition and where it comes from (`inspect --json`). */
  async inspect(provider: string): Promise<ProviderInfo> {
    return providerInfo(await this.#ctx.registry.require(provider));
  }

  /** Installs a provider file; `warnings` names fields no schema knows (installed all the same). */
  async register(file: string, options: { force?: boolean } = {}): Promise<RegisterResult> {
    return this.#audited(await this.#ctx.registry.register(file, { ...options, claim: this.#claim }));
  }

  /**
   * Validates a pasted provider definition (JSON or JSONC) with the same schema as `register` and
   * installs it (the dashboard's door). Errors name `label` and each bad field by its path.
   */
  async registerText(text: string, options: { force?: boolean; label?: string; forceHint?: (what: string) => string } = {}): Promise<RegisterResult> {
    return this.#audited(await this.#ctx.registry.registerText(text, { ...options, claim: this.#claim }));
  }

  /** A new provider name must not still hold records: their tokens would go to the new definition's endpoints. */
  readonly #claim = async (name: string, forceHint: (what: string) => string) => {
    const { refuseIfHeld } = await import('./held-records.ts');
    return refuseIfHeld(this.#ctx, name, forceHint('register it anyway'));
  };

  #audited(entry: RegisteredProvider): RegisterResult {
    // Every route the credential may go to under `run` (its host_url, or its routes).
    this.#ctx.auditEvent('register', { provider: entry.definition.name, endpoints: routeTemplates(entry.definition).map((r) => r.url), status: 'success' });
    return {
      name: entry.definition.name, ...providerInfo(entry),
      warnings: entry.unknownFields.map((field) => ({ field: field.path, message: field.message })),
    };
  }

  /** Stores an API key as a connection; see ApiKeyLoginOptions for overwrite rules. */
  async loginWithApiKey(provider: string, apiKey: string | Record<string, string>, options: ApiKeyLoginOptions = {}): Promise<LoginResult> {
    const { loginWithApiKey } = await import('./api-key-login.ts');
    return loginWithApiKey(this.#ctx, requireName('provider', provider), apiKey, { via: 'library', ...options });
  }

  /**
   * Logs in with OAuth. `provider` is a provider name, or the URL of an MCP server / RFC 9728
   * protected resource, from which a provider is derived and saved (`name` overrides its name).
   */
  async loginWithOAuth(provider: string, interaction: LoginInteraction, options: OAuthLoginOptions & { name?: string } = {}): Promise<OAuthLoginResult & { provider_created: boolean }> {
    // OAuth machinery loads only when a login needs it: `get` must start fast.
    const { loginWithOAuth } = await import('./oauth-login.ts');
    const { isResourceUrl, providerFromResource } = await import('./resource-provider.ts');
    let definition;
    let created = false;
    if (isResourceUrl(provider)) {
      const derived = await providerFromResource(this.#ctx, provider, { name: options.name && requireName('provider', options.name), force: options.force });
      definition = derived.entry.definition;
      created = derived.created;
      if (created) interaction.info(`Saved provider "${definition.name}" for ${provider} (authorization server ${String(definition.oauth?.issuer)}).`);
    } else {
      definition = (await this.#ctx.registry.require(requireName('provider', provider))).definition;
    }
    const result = await loginWithOAuth(this.#ctx, definition, options, interaction);
    return { ...result, provider_created: created };
  }

  /** The provider `login <url>` saved for an MCP server's URL, or null when it was never logged in to. */
  async providerForResource(url: string): Promise<string | null> {
    const { providerForResource } = await import('./resource-provider.ts');
    return (await providerForResource(this.#ctx, url))?.definition.name ?? null;
  }

  /** The input form that asks for this provider's API key (the door shows it in a browser). */
  async apiKeyForm(provider: string): Promise<InputRequest> {
    const { definition } = await this.#ctx.registry.require(provider);
    const name = definition.display_name ?? definition.name;
    return {
      provider: definition.name,
      title: `Connect ${name}`,
      intro: `Paste your ${name} API key. It is stored encrypted on this computer and never shown again.`,
      fields: credentialParts(definition)?.map((part) => ({ name: part.name, label: `${name} ${part.label}`, secret: part.secret, required: true, hint: part.hint }))
        ?? [{ name: 'api_key', label: `${name} API key`, secret: true, required: true, pattern: definition.api_key?.key_pattern ?? null, hint: definition.api_key?.key_pattern_hint ?? null }],
      docsUrl: definition.docs ?? null,
      completesLogin: true,
    };
  }

  /** Whether a connection exists (so a door can refuse before asking anyone for a secret). */
  async hasConnection(provider: string, options: { connection?: string } = {}): Promise<boolean> {
    const profile = this.#ctx.profile;
    const key = keys.connection(profile, requireName('provider', provider), requireName('connection', options.connection ?? DEFAULT_CONNECTION));
    return (await this.#ctx.vault.store(profile).get(key)) !== undefined;
  }

  /** The connection record (secrets included: treat it as sensitive). */
  async getConnection(provider: string, options: { connection?: string } = {}): Promise<ConnectionRecord> {
    return this.#fresh(provider, options.connection);
  }

  /**
   * The record as shown to people: secrets masked unless showSecrets. An access call: a due token
   * is renewed first. A renewal that fails leaves the record showing it (`status` expired or
   * invalid) and goes to onWarning; with showSecrets it is thrown, since the token is not usable.
   */
  async get(provider: string, options: { connection?: string; showSecrets?: boolean } = {}): Promise<Record<string, unknown>> {
    const { value, failure } = await this.read(provider, { connection: options.connection, showSecret: options.showSecrets });
    if (failure) this.#onWarning(failure.message);
    return value as Record<string, unknown>;
  }

  /** One field; secret fields are masked unless showSecret. An access call, like `get`. */
  async getField(provider: string, field: string, options: { connection?: string; showSecret?: boolean } = {}): Promise<unknown> {
    const { value, failure } = await this.read(provider, { ...options, field });
    if (failure) this.#onWarning(failure.message);
    return value;
  }

  /**
   * The record as it is stored, secrets masked, without renewing anything: what a view shows
   * (the dashboard lists connections; looking must not spend a refresh token).
   */
  async storedView(provider: string, options: { connection?: string; profile?: string } = {}): Promise<Record<string, unknown>> {
    return presentConnection(await requireConnection(await this.#readContext(options.profile), provider, options.connection));
  }

  /**
   * What `authsome get` prints: the whole record (masked unless showSecret) or one field, read
   * after renewing a due token (every access call is a refresh point, refresh-protocol.md). When
   * the renewal fails, `value` shows the connection as that attempt left it (`status` expired or
   * invalid) and `failure` says why; only a revealed access token is never handed out unusable —
   * that failure is thrown.
   */
  async read(provider: string, options: { connection?: string; field?: string; showSecret?: boolean } = {}): Promise<ConnectionRead> {
    const { field, showSecret = false } = options;
    const revealsToken = showSecret && (field === undefined || field === 'access_token');
    const { record, failure } = revealsToken
      ? { record: await this.#fresh(provider, options.connection), failure: null }
      : await this.#access(provider, options.connection);
    const value = field === undefined ? presentConnection(record, showSecret) : connectionField(record, field, showSecret);
    const revealed = showSecret && (field === undefined || revealsSecret(record, field));
    if (revealed) this.#auditSecretRead(record, field ?? 'all');
    return { value, status: connectionState(record), failure, revealed };
  }

  /**
   * The credential for an agent that asked the daemon (its Unix socket API): renewed first when
   * due, audited like `get --show-secret`. The value is the API key or the access token.
   */
  async credential(provider: string, options: { connection?: string; via?: string } = {}): Promise<IssuedCredential> {
    const record = await this.#fresh(provider, options.connection);
    const entry = await this.#ctx.registry.get(provider).catch(() => null);
    const headers = authHeaders(entry?.definition ?? null, record);
    this.#ctx.auditEvent('get', {
      provider: record.provider, connection: record.connection_name, field: 'credential', show_secret: true, via: options.via, status: 'success',
    });
    return {
      provider: record.provider, connection: record.connection_name, profile: this.profile, auth_type: record.auth_type,
      credential: credentialValue(record)!, token_type: record.auth_type === 'oauth2' ? record.token_type : null,
      headers, expires_at: record.expires_at, status: connectionState(record),
    };
  }

  /** The secret value itself: the API key or the access token. */
  async getSecret(provider: string, options: { connection?: string } = {}): Promise<string> {
    const record = await this.#fresh(provider, options.connection);
    const field = record.auth_type === 'api_key' ? 'api_key' : 'access_token';
    return connectionField(record, field, true) as string;
  }

  /** The HTTP headers carrying this connection's credential. */
  async authHeaders(provider: string, options: { connection?: string } = {}): Promise<Record<string, string>> {
    const record = await this.#fresh(provider, options.connection);
    const entry = await this.#ctx.registry.get(provider).catch(() => null);
    return authHeaders(entry?.definition ?? null, record);
  }

  /**
   * The headers a request would carry (`authsome headers`): the connection's credential, renewed
   * first when due — or, with `url`, the route decision `run --only provider` makes for that URL,
   * with the chosen route's fixed headers. Audited like `get --show-secret` (it hands the secret
   * out). A credential that travels in the query string is refused (flow_unsupported).
   */
  async headers(provider: string, options: { connection?: string; url?: string; via?: string } = {}): Promise<RequestHeaders> {
    requireName('provider', provider);
    const { auditedUrl, headersOf } = await import('./request-headers.ts');
    let result: RequestHeaders;
    if (options.url !== undefined) {
      await this.#ctx.registry.require(provider);
      const chosen = await this.requestCredential(options.url, { only: [provider], connections: options.connection ? { [provider]: options.connection } : {} });
      result = { provider: chosen.provider, connection: chosen.connection, rule: chosen.rule, headers: headersOf(chosen.injection, chosen.extraHeaders, chosen) };
    } else {
      const record = await this.#fresh(provider, options.connection);
      const entry = await this.#ctx.registry.get(provider).catch(() => null);
      const who = { provider: record.provider, connection: record.connection_name };
      const { injectionFor } = await import('./proxy-support.ts');
      result = { ...who, rule: null, headers: headersOf(injectionFor(entry?.definition ?? null, record), {}, who) };
    }
    this.#ctx.auditEvent('get', {
      provider: result.provider, connection: result.connection, field: 'headers', show_secret: true,
      ...(options.url !== undefined ? { url: auditedUrl(options.url), rule: result.rule } : {}), via: options.via ?? 'library', status: 'success',
    });
    return result;
  }

  /**
   * The headers a request to `url` needs: the credential the route table chooses for it (as `run`
   * decides among every connected provider, or among `only`), renewed first when due, and the
   * route's fixed headers. Throws when no route covers the URL (provider_not_found), its provider
   * has no connection (credential_missing), or the credential travels in the query string
   * (flow_unsupported: use fetch()). Audited like `get --show-secret`.
   */
  async requestHeaders(url: string, options: { only?: string[]; connections?: Record<string, string> } = {}): Promise<Record<string, string>> {
    const chosen = await this.requestCredential(url, options);
    const { auditedUrl, headersOf } = await import('./request-headers.ts');
    const headers = headersOf(chosen.injection, chosen.extraHeaders, chosen);
    this.#ctx.auditEvent('get', {
      provider: chosen.provider, connection: chosen.connection, field: 'headers', show_secret: true, url: auditedUrl(url), rule: chosen.rule, via: 'library', status: 'success',
    });
    return headers;
  }

  /**
   * A WHATWG fetch with the credential the route table chooses for the URL — header, query
   * parameter or Basic pair, and the route's fixed headers — renewed first when due. An upstream
   * 401 to an OAuth token leads to one refresh and one retry, within `run`'s bounds (one refresh
   * per token generation, none for a token under a minute old). Redirects are followed with each
   * hop decided again, so the credential goes only where a route sends it. The request body is
   * held in memory to be sent again. Throws, with the decision's reason, when no connection's
   * route covers the URL (provider_not_found) or its provider has no connection (credential_missing).
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return (await this.sendAuthenticated(input, init)).response;
  }

  /**
   * fetch(), answering also with what was sent: the route decision and every credential the
   * request carried (for a door that takes them out of the answer: the MCP server). `only` limits
   * the providers whose routes take part, as `run --only` does, on every redirect hop.
   */
  async sendAuthenticated(input: string | URL | Request, init?: RequestInit, options: { only?: string[] } = {}): Promise<AuthenticatedResponse> {
    const [{ authenticatedFetch }, credentials] = await Promise.all([import('./authenticated-fetch.ts'), this.#credentialCache()]);
    return authenticatedFetch({
      decide: async (url) => {
        const chosen = await this.#decide(url, { only: options.only });
        // Read again for every request: another process may have refreshed it (the store is the truth).
        credentials.invalidate(chosen);
        return chosen;
      },
      credentials,
      fetch: globalThis.fetch,
      log: (line) => this.#ctx.log.debug(line),
    }, input, init);
  }

  async #credentialCache(): Promise<CredentialCache> {
    if (this.#credentials) return this.#credentials;
    const { CredentialCache } = await import('./credential-cache.ts');
    return (this.#credentials ??= new CredentialCache({
      injection: (provider, connection) => this.injection(provider, { connection }),
      refresh: async (provider, connection) => {
        const result = await this.refresh(provider, { connection });
        // A transient failure leaves the old token (with a warning): nothing new to send again with.
        return result.warning ? null : this.injection(provider, { connection });
      },
    }));
  }

  /** The audit entry of one MCP tool call (the client's name, the tool, names and URLs — never a value). */
  auditMcp(fields: Record<string, unknown>): void {
    this.#ctx.auditEvent('mcp', fields);
  }

  /**
   * The route decision for a URL — `run`'s, through route() — and the credential it injects,
   * renewed first when due. Throws, with the decision's reason, when nothing would be injected.
   */
  async requestCredential(url: string, options: { only?: string[]; connections?: Record<string, string> } = {}): Promise<RequestCredential> {
    const chosen = await this.#decide(url, options);
    const injection = await this.injection(chosen.provider, { connection: chosen.connection });
    return { ...chosen, injection };
  }

  /**
   * The route decision `run`'s proxy makes for a URL (RouteTable over proxyRoutes, as route()
   * decides it), without explaining the losers; when nothing would be injected, route() explains
   * why and that is thrown (notCovered).
   */
  async #decide(url: string, options: { only?: string[]; connections?: Record<string, string> }): Promise<Omit<RequestCredential, 'injection'>> {
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (parsed?.protocol === 'https:') {
      const [{ RouteTable }, { normalizePathname }] = await Promise.all([import('./route-table.ts'), import('./proxy-support.ts')]);
      const { routes } = await this.proxyRoutes(options);
      const host = parsed.hostname.toLowerCase().replace(/^\[|\]$/g, '');
      const decision = new RouteTable(routes).decide(host, Number(parsed.port) || 443, normalizePathname(parsed.pathname));
      if (decision.inject) {
        const { spec, headers, normalized } = decision.route;
        return { provider: spec.provider, connection: spec.connection, rule: normalized, extraHeaders: headers };
      }
    }
    const { notCovered } = await import('./request-headers.ts');
    throw notCovered(await this.route(url, options));
  }

  /** Environment variables for one provider, or for every connected provider's default connection. */
  async export(provider?: string, options: { connection?: string } = {}): Promise<{ variables: ExportedVariable[]; warnings: string[] }> {
    const warnings: string[] = [];
    const records: ConnectionRecord[] = [];
    if (provider) {
      records.push(await this.#fresh(provider, options.connection));
    } else {
      for (const summary of (await this.list()).providers) {
        const main = summary.connections.find((c) => c.default) ?? summary.connections[0];
        if (!main) continue;
        if (main.status !== 'connected') {
          warnings.push(`${summary.name} (${main.connection_name}) is ${main.status}; not exported`);
          continue;
        }
        records.push(await this.#fresh(summary.name, main.connection_name));
      }
    }
    const { exportVariables } = await import('./export.ts');
    const variables: ExportedVariable[] = [];
    for (const record of records) {
      const entry = await this.#ctx.registry.get(record.provider).catch(() => null);
      const result = exportVariables(entry?.definition ?? null, record);
      variables.push(...result.variables);
      warnings.push(...result.skipped.map((s) => `${record.provider}: ${s}`));
    }
    this.#ctx.auditEvent('export', {
      providers: [...new Set(variables.map((v) => v.provider))],
      variables: variables.map((v) => v.name),
      status: 'success',
    });
    return { variables, warnings };
  }

  /** Renews an OAuth connection now, due or not (`authsome refresh`). */
  async refresh(provider: string, options: { connection?: string } = {}): Promise<RefreshResult> {
    const record = await requireConnection(this.#ctx, provider, options.connection);
    if (record.auth_type !== 'oauth2') {
      throw new AuthsomeError('flow_unsupported', `${provider} (${record.connection_name}) is an API key; there is nothing to refresh`, { provider, connection: record.connection_name });
    }
    const { ensureFresh } = await import('./refresh.ts');
    const { canRenew } = await import('./refresh-policy.ts');
    if (!canRenew(record)) {
      throw new AuthsomeError('refresh_failed', `${provider} (${record.connection_name}) cannot be refreshed: the provider issued no refresh token`, {
        hint: `Log in again when the token expires: authsome login ${provider} --force`, provider, connection: record.connection_name,
      });
    }
    const result = await ensureFresh(this.#ctx, record, { force: true });
    if (result.warning) this.#onWarning(result.warning);
    return {
      provider, connection: result.record.connection_name, refreshed: result.refreshed, status: connectionState(result.record),
      expires_at: result.record.expires_at, generation: generationOf(result.record), ...(result.warning ? { warning: result.warning } : {}),
    };
  }

  /**
   * Renews every OAuth connection of every profile that falls due within lookaheadMs: the
   * daemon's background refresher, so foreground callers rarely wait. Failures are reported, not thrown.
   * `candidates`: only these connections are read (the daemon passes those whose renew_from has come).
   */
  async refreshDue(options: { lookaheadMs: number; candidates?: ReadonlyArray<{ profile: string; provider: string; connection: string }> }): Promise<Array<{ profile: string; provider: string; connection: string; outcome: string }>> {
    const { refreshDue } = await import('./refresh-due.ts');
    return refreshDue(this.#ctx, options.lookaheadMs, options.candidates);
  }

  /**
   * The routes for `run`: each selected provider's default connection (or the one named in
   * `connections`), limited to `only` when given. Only connected connections with a host_url route.
   */
  async proxyRoutes(options: { only?: string[]; connections?: Record<string, string> } = {}): Promise<{ routes: RouteSpec[]; skipped: SkippedRoute[] }> {
    const routes: RouteSpec[] = [];
    const skipped: SkippedRoute[] = [];
    const wanted = options.only?.length ? new Set(options.only) : null;
    const { routeSpec } = await import('./proxy-support.ts');
    const { providers } = await this.list();
    for (const summary of providers) {
      if (wanted && !wanted.has(summary.name)) continue;
      const chosen = options.connections?.[summary.name]
        ? summary.connections.find((c) => c.connection_name === options.connections![summary.name])
        : summary.connections.find((c) => c.default) ?? summary.connections[0];
      if (!chosen) {
        const named = options.connections?.[summary.name];
        if (named) {
          throw new AuthsomeError('credential_missing', `${summary.name} has no connection "${named}"`, {
            hint: `See its connections with \`authsome list\`, or log in: authsome login ${summary.name} --connection ${named}`, provider: summary.name, connection: named,
          });
        }
        continue;
      }
      const connection = chosen.connection_name;
      if (chosen.status === 'invalid') {
        skipped.push({ provider: summary.name, connection, reason: `the provider rejected it; log in again (authsome login ${summary.name} --force)` });
        continue;
      }
      const record = await requireConnection(this.#ctx, summary.name, connection);
      // A value stored by an older version or the Python authsome that breaks the credential rule
      // (a newline, 64 KiB) is never sent: that route is left out, said by name; the others run.
      const stored = credentialValue(record);
      const problem = stored ? credentialProblem(stored) : null;
      if (problem) {
        const reason = `not routed: the stored credential cannot be used (${problem}); log in again: authsome login ${summary.name} --force`;
        this.#onWarning(`${summary.name} (${connection}): ${reason}`);
        skipped.push({ provider: summary.name, connection, reason });
        continue;
      }
      const entry = await this.#ctx.registry.get(summary.name).catch(() => null);
      const spec = routeSpec(entry?.definition ?? null, record);
      if ('unrouted' in spec) skipped.push({ provider: summary.name, connection, reason: `not routed: ${spec.unrouted}` });
      else routes.push(spec);
    }
    for (const [name, connection] of Object.entries(options.connections ?? {})) {
      if (!providers.some((p) => p.name === name && p.connections.length > 0)) {
        throw new AuthsomeError('credential_missing', `${name} has no connection "${connection}"`, { hint: `Log in first: authsome login ${name} --connection ${connection}`, provider: name, connection });
      }
    }
    for (const name of wanted ?? []) {
      if (!routes.some((r) => r.provider === name) && !skipped.some((s) => s.provider === name)) {
        throw new AuthsomeError('credential_missing', `${name} has no connection to route`, { hint: `Log in first: authsome login ${name}`, provider: name });
      }
    }
    return { routes, skipped };
  }

  /**
   * For one URL, what a request through `run` would carry: the provider and connection whose route
   * wins, how the credential travels (masked), and why every other route on that host lost —
   * the proxy's own decision (RouteTable), checked against the whole catalogue, without a network.
   * `only` and `connections` select as `run` does.
   */
  async route(url: string, options: { only?: string[]; connections?: Record<string, string> } = {}): Promise<RouteExplanation> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new AuthsomeError('usage', `"${url}" is not a URL`, { hint: 'Give a whole URL: authsome route https://api.example.com/v1/models' });
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new AuthsomeError('usage', `"${url}" is not an http or https URL`, { hint: 'Give a whole URL: authsome route https://api.example.com/v1/models' });
    const [{ catalogueSpec, normalizePathname }, { explainRoute }] = await Promise.all([import('./proxy-support.ts'), import('./route-explanation.ts')]);
    const { routes, skipped } = await this.proxyRoutes(options);
    const { entries } = await this.#ctx.registry.all();
    const unrouted: Unrouted[] = [];
    for (const { definition } of entries) {
      if (routes.some((r) => r.provider === definition.name)) continue;
      if (options.only?.length && !options.only.includes(definition.name)) continue;
      const left = skipped.find((s) => s.provider === definition.name);
      const spec = catalogueSpec(definition);
      if (spec) {
        unrouted.push(left
          ? { spec, connected: true, why: `it is left out of run: ${left.provider} (${left.connection}): ${left.reason}` }
          : { spec, connected: false, why: `no connection for ${definition.name}: log in with \`authsome login ${definition.name}\`` });
      }
    }
    const definitions = new Map(entries.map((e) => [e.definition.name, e.definition]));
    return explainRoute({
      url: parsed, path: normalizePathname(parsed.pathname), routed: routes, unrouted,
      definitionOf: (provider) => definitions.get(provider) ?? null,
      lookup: async (route) => {
        const record = await requireConnection(this.#ctx, route.spec.provider, route.spec.connection);
        return { definition: definitions.get(route.spec.provider) ?? null, record, status: connectionState(record) };
      },
    });
  }

  /** The audit entry of one `mcp connect` session (the server, the connection, counts; never a value). */
  auditMcpConnect(fields: Record<string, unknown>): void {
    this.#ctx.auditEvent('mcp_connect', { ...fields, status: 'success' });
  }

  /** The audit entry of one `run` (counts and names, never a value). */
  auditRun(fields: Record<string, unknown>): void {
    this.#ctx.auditEvent('run', { ...fields, status: fields.exit_code === 0 ? 'success' : 'failure' });
  }

  /** The credential to inject for one route, renewed first when due. */
  async injection(provider: string, options: { connection?: string } = {}): Promise<Injection> {
    const record = await this.#fresh(provider, options.connection);
    const entry = await this.#ctx.registry.get(provider).catch(() => null);
    const { injectionFor } = await import('./proxy-support.ts');
    return injectionFor(entry?.definition ?? null, record);
  }

  async logout(provider: string, options: { connection?: string } = {}): Promise<RemovalResult> {
    const { logout } = await import('./removal.ts');
    return logout(this.#ctx, provider, options.connection);
  }

  async revoke(provider: string): Promise<RemovalResult> {
    const { revoke } = await import('./removal.ts');
    return revoke(this.#ctx, provider);
  }

  /**
   * Deletes this profile's state for a provider — connections (revoked at the provider first), the
   * stored OAuth client, metadata and refresh state. The definition, bundled or custom, stays.
   */
  async remove(provider: string): Promise<RemovalResult> {
    const { removeProvider } = await import('./removal.ts');
    return removeProvider(this.#ctx, provider);
  }

  /**
   * Deletes a custom provider definition (a bundled one of the same name applies again). Refuses
   * while any profile has connections for it, unless `force`; bundled providers cannot be unregistered.
   */
  async unregister(provider: string, options: { force?: boolean } = {}): Promise<UnregisterResult> {
    const { unregisterProvider } = await import('./unregister.ts');
    return unregisterProvider(this.#ctx, requireName('provider', provider), options);
  }

  async setDefault(provider: string, connection: string): Promise<void> {
    const { setDefaultConnection } = await import('./removal.ts');
    return setDefaultConnection(this.#ctx, provider, requireName('connection', connection));
  }

  profiles(): Promise<ProfileInfo[]> {
    return listProfiles(this.#ctx);
  }

  createProfile(name: string, description?: string): ProfileInfo {
    return createProfile(this.#ctx, name, description ?? null);
  }

  useProfile(name: string): void {
    useProfile(this.#ctx, name);
  }

  async rekey(options: RekeyOptions = {}): Promise<RekeyResult> {
    const { rekey } = await import('./rekey.ts');
    return rekey(this.#ctx, options);
  }

  async doctor(): Promise<DoctorReport> {
    const { doctor } = await import('./doctor.ts');
    return doctor(this.#ctx);
  }

  /** Moves every profile's records to another store (`postgres://…` or `sqlite`), verified; see store-migration.ts. */
  async migrate(target: string, options: MigrationOptions = {}): Promise<MigrationResult> {
    const { migrateStore } = await import('./store-migration.ts');
    return migrateStore(this.#ctx, target, options);
  }

  /**
   * Calls listener for every change committed to the store — by this or another process, or on
   * another machine — until the returned function is called (PostgreSQL: LISTEN/NOTIFY; SQLite:
   * each profile's file polled every 250 ms); null when the store has no change feed.
   */
  watchStore(listener: (change: StoreChange) => void): Promise<(() => Promise<void>) | null> {
    return this.#ctx.vault.backend().watch(listener);
  }

  /** Which backend holds the records, and where (no secrets: the URL without its password). */
  storeLocation(): { backend: 'sqlite' | 'postgres'; location: string } {
    const backend = this.#ctx.vault.backend();
    return { backend: backend.kind, location: backend.location };
  }

  /** Every connection of every profile, without secrets (what the daemon keeps in memory). */
  async connectionViews(): Promise<ConnectionView[]> {
    const { connectionViews } = await import('./connection-view.ts');
    return connectionViews(this.#ctx);
  }

  /** The view of one store key (from a change notification); null when it is not a connection or is gone. */
  async connectionViewOf(key: string): Promise<ConnectionView | null> {
    const { connectionViewOf } = await import('./connection-view.ts');
    return connectionViewOf(this.#ctx, key);
  }

  /** The last `limit` audit entries, optionally of one event. */
  log(limit = 50, event?: string): AuditEntry[] {
    return new AuditLog(this.#ctx.audit.path).read(limit, event);
  }

  /** A line for the --verbose debug log (redacted like every other). */
  debug(message: string, fields?: Record<string, unknown>): void {
    this.#ctx.log.debug(message, fields);
  }

  close(): Promise<void> {
    return this.#ctx.close();
  }

  /** `await using authsome = new Authsome()` closes the store when the scope ends (close()). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The connection, renewed first when its token is due (the refresh protocol). */
  /**
   * This profile's context, or a read view of another profile of the home: the name is checked as
   * a name, then against the profiles the home (or shared store) has, so a caller's parameter can
   * never open a folder or key prefix of its own making.
   */
  async #readContext(profile?: string): Promise<BrokerContext> {
    if (profile === undefined || profile === this.profile) return this.#ctx;
    requireName('profile', profile);
    const known = this.#profileViews.get(profile);
    if (known) return known;
    if (!(await listProfiles(this.#ctx)).some((p) => p.name === profile)) {
      throw new AuthsomeError('profile_not_found', `profile "${profile}" does not exist`, { hint: 'List profiles with `authsome profile list`.' });
    }
    const view = this.#ctx.withProfile(profile);
    this.#profileViews.set(profile, view);
    return view;
  }

  async #fresh(provider: string, connection?: string): Promise<ConnectionRecord> {
    const record = await requireConnection(this.#ctx, provider, connection);
    // A rejected connection goes through too: the refresh protocol throws its error (a token that
    // cannot be used is never handed out).
    if (!this.#needsRefreshProtocol(record) && !(record.auth_type === 'oauth2' && isRejected(record))) {
      this.#warnLapse(record);
      return record;
    }
    const { ensureFresh } = await import('./refresh.ts');
    const result = await ensureFresh(this.#ctx, record);
    if (result.warning) this.#onWarning(result.warning);
    this.#warnLapse(result.record, !result.warning);
    return result.record;
  }

  /**
   * An access call warns of a refresh token that lapses soon. `refreshWorked` false: the keep-alive
   * refresh failed for now (a network error), so a later one may still move the date.
   */
  #warnLapse(record: ConnectionRecord, refreshWorked = true): void {
    const warning = lapseWarning(record, refreshWorked)?.text;
    if (warning) this.#onWarning(warning);
  }

  /**
   * An access call that reports instead of throwing when the renewal fails: the record as the
   * failed attempt left it, and why. A connection already rejected is not tried again (it waits
   * for a new login) and is returned as it stands.
   */
  async #access(provider: string, connection?: string): Promise<{ record: ConnectionRecord; failure: AuthsomeError | null }> {
    const record = await requireConnection(this.#ctx, provider, connection);
    if (!this.#needsRefreshProtocol(record)) {
      this.#warnLapse(record);
      return { record, failure: null };
    }
    const { ensureFresh } = await import('./refresh.ts');
    try {
      const result = await ensureFresh(this.#ctx, record);
      if (result.warning) this.#onWarning(result.warning);
      this.#warnLapse(result.record, !result.warning);
      return { record: result.record, failure: null };
    } catch (error) {
      const failure = toAuthsomeError(error);
      if (failure.code !== 'refresh_failed') throw failure;
      const after = await requireConnection(this.#ctx, provider, record.connection_name);
      return { record: after, failure };
    }
  }

  /**
   * Whether an access must go through the refresh protocol: a due OAuth token of a connection the
   * provider has not rejected, or renewed tokens waiting in a rescue file (one stat). The common
   * case — an API key, or a token not yet due — costs no OAuth code at all.
   */
  #needsRefreshProtocol(record: ConnectionRecord): boolean {
    if (record.auth_type !== 'oauth2') return false;
    return (!isRejected(record) && isDue(record)) || hasRescue(this.#ctx.home.root, keys.connection(record.profile, record.provider, record.connection_name));
  }

  #auditSecretRead(record: ConnectionRecord, field: string): void {
    this.#ctx.auditEvent('get', { provider: record.provider, connection: record.connection_name, field, show_secret: true, status: 'success' });
  }
}

export { DEFAULT_PROFILE };
