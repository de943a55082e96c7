// The refresh protocol (refresh-protocol.md): at most one refresh per connection in flight across
// threads, processes and machines sharing a store; a spent refresh token never presented again;
// the rotated pair stored before anyone gets the new access token; never a credential lost
// because a refresh failed; failure states that say whether to retry (`expired`) or log in again
// (`invalid`).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { OAuthError, buildClient, refreshEndpointOf, refreshTokenGrant, requestClientCredentialsToken, toTokenSet, type TokenResponse } from '../oauth/index.ts';
import type { ProviderDefinition } from '../providers/index.ts';
import { AuthsomeError, parseTimestamp, toAuthsomeError, toRecordTimestamp } from '../util/index.ts';
import { keys, orderRecord, type ConnectionRecord, type ProviderStateRecord, type VaultTransaction } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { knownClient, markClientRejected, serverFor, transportFor } from './oauth-support.ts';
import { accessTokenUsable, canRenew, changedSince, generationOf, isClientCredentials, isDue } from './refresh-policy.ts';

export interface FreshResult {
  record: ConnectionRecord;
  /** This call renewed the token (false: it was fresh, or another caller renewed it). */
  refreshed: boolean;
  /** Set when a still-valid token is handed out although its refresh failed. */
  warning?: string;
}

export interface FreshOptions {
  /** Renew even if the token is not due (`authsome refresh`). */
  force?: boolean;
  /** Treat as due this long before the window (the daemon's background refresher). */
  lookaheadMs?: number;
}

/** In-process single flight (step 2): every caller for one connection shares one attempt. */
const inFlight = new Map<string, Promise<FreshResult>>();

/** The record with an access token that is not due for renewal, renewing it first if needed. */
export function ensureFresh(ctx: BrokerContext, record: ConnectionRecord, options: FreshOptions = {}): Promise<FreshResult> {
  if (record.auth_type !== 'oauth2') return Promise.resolve({ record, refreshed: false });
  const rejected = record.status === 'invalid' || record.status === 'revoked';
  if (rejected && !options.force) return Promise.reject(rejectedEarlier(record));
  if (!options.force && !isDue(record, Date.now(), options.lookaheadMs)) return Promise.resolve({ record, refreshed: false });
  if (!canRenew(record)) {
    if (accessTokenUsable(record)) return Promise.resolve({ record, refreshed: false });
    return Promise.reject(new AuthsomeError('refresh_failed', `the access token of ${record.provider} (${record.connection_name}) has expired and the provider issued no refresh token`, {
      hint: `Log in again: ${loginCommand(record)}`, provider: record.provider, connection: record.connection_name,
    }));
  }
  if (!options.force) {
    const waited = backingOff(record, ctx.settings.refreshBackoffMs);
    if (waited) return waited;
  }
  const key = `${ctx.home.root}\0${record.profile}\0${record.provider}\0${record.connection_name}`;
  const running = inFlight.get(key);
  if (running) return running;
  const attempt = refreshProtocol(ctx, record, options).finally(() => inFlight.delete(key));
  inFlight.set(key, attempt);
  return attempt;
}

/**
 * A transient failure moments ago (the token endpoint unreachable, timing out, answering 5xx):
 * for a short back-off, callers do not try again — one caller paid the timeout, the others get
 * the still-valid token (with a warning) or the `expired` error at once. `authsome refresh` and
 * the first access after the back-off try again.
 */
function backingOff(record: ConnectionRecord, backoffMs: number): Promise<FreshResult> | null {
  const reason = record.metadata?.last_refresh_error;
  const at = parseTimestamp(record.metadata?.last_refresh_at as string | undefined);
  if (record.status !== 'expired' || typeof reason !== 'string' || !at) return null;
  const retryAt = at.getTime() + backoffMs;
  if (Date.now() >= retryAt) return null;
  const message = `refresh failed for ${record.provider} (${record.connection_name}): ${reason}`;
  if (accessTokenUsable(record)) return Promise.resolve({ record, refreshed: false, warning: `${message}; using the current access token until it expires` });
  return Promise.reject(new AuthsomeError('refresh_failed', message, {
    hint: `The connection stays expired; the next access from ${toRecordTimestamp(new Date(retryAt))} tries again.`, provider: record.provider, connection: record.connection_name,
  }));
}

async function refreshProtocol(ctx: BrokerContext, seen: ConnectionRecord, options: FreshOptions): Promise<FreshResult> {
  try {
    return await refreshUnderLease(ctx, seen, options);
  } catch (error) {
    if (error instanceof AuthsomeError && error.code === 'store_unavailable') return storeOutage(ctx, seen, error);
    throw error;
  }
}

/**
 * The store could not be reached (a shared PostgreSQL down or restarting). Before the token
 * request: the same outcome as a transient failure at the token endpoint — nothing changed, the
 * next access tries again. After it (the provider rotated the pair, and it could not be written
 * while the lease held): said as it is, since the stored refresh token is now spent. Either way a
 * still-valid access token is handed out with a warning; the record cannot be marked in a store
 * we cannot reach, so the caller and the local audit log hear of it.
 */
function storeOutage(ctx: BrokerContext, seen: ConnectionRecord, failure: AuthsomeError): FreshResult {
  const { provider, connection_name: connection } = seen;
  const rotated = failure instanceof RotatedNotStored;
  ctx.auditEvent('refresh', {
    provider, connection, generation: generationOf(seen), outcome: rotated ? 'not_stored' : 'store_unavailable', reason: failure.message, status: 'failure',
  });
  ctx.log.record(`refresh ${provider} (${connection}) failed: ${failure.message}`, { state: rotated ? 'spent' : 'expired' });
  const message = `refresh failed for ${provider} (${connection}): ${rotated ? 'the renewed tokens could not be stored' : 'store unavailable'}`;
  const detail = (rotated ? failure.cause as AuthsomeError : failure).message;
  if (accessTokenUsable(seen)) return { record: seen, refreshed: false, warning: `${message} (${detail}); using the current access token until it expires` };
  throw new AuthsomeError('refresh_failed', message, {
    hint: rotated
      ? `${detail}. The provider rotated the refresh token; if the next access says invalid_grant, log in again: ${loginCommand(seen)}`
      : `${detail}. Nothing was changed; the next access tries again once the store is back.`,
    provider, connection, cause: failure,
  });
}

/** The provider rotated the pair and the store stayed unreachable for as long as the lease allowed. */
class RotatedNotStored extends AuthsomeError {
  constructor(cause: AuthsomeError) {
    super('store_unavailable', `the renewed tokens could not be stored: ${cause.message}`, { cause });
  }
}

/** The longest one write attempt can take: the store's own reconnect window plus a connect timeout. */
const WRITE_ATTEMPT_MAX_MS = 10_000;

interface LeaseFence {
  /** When the lease ends unless renewed. */
  until: number;
  /** Extends the lease (same holder): 'lost' when another holder has it now. */
  renew(): Promise<'renewed' | 'lost' | 'unreachable'>;
}

async function refreshUnderLease(ctx: BrokerContext, seen: ConnectionRecord, options: FreshOptions): Promise<FreshResult> {
  const { profile, provider, connection_name: connection } = seen;
  const recordKey = keys.connection(profile, provider, connection);
  const definition = (await ctx.registry.require(provider)).definition;
  const transport = transportFor(ctx, definition);
  // Everything that does not spend the refresh token happens before the lease: metadata discovery
  // and client lookup can take a round trip, and the lease must only cover the token request.
  const server = await serverFor(ctx, definition, seen.base_url, transport);
  const clientChoice = await knownClient(ctx, definition, { profile, preferStored: true });
  if (!clientChoice) {
    throw new AuthsomeError('refresh_failed', `refresh failed for ${provider} (${connection}): no OAuth client credentials are stored or set`, {
      hint: `Set ${definition.client?.client_id_env ?? 'the client ID variable'}, or log in again: ${loginCommand(seen)}`, provider, connection,
    });
  }
  transport.secret(clientChoice.client_secret);
  transport.secret(seen.refresh_token);
  // The rotated pair must be storable before the old refresh token is spent: a key that does not
  // fit this store fails here, while nothing has happened yet.
  await ctx.vault.assertWritable();
  const client = buildClient(definition, clientChoice, server.as);

  const store = ctx.vault.store(profile);
  const leaseKey = `refresh:${recordKey}`;
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const timeoutMs = ctx.settings.refreshTimeoutMs;
  // Step 3: the lease outlives the token request, so a crashed holder is replaced, never waited on forever.
  const leaseMs = Math.round(timeoutMs * 1.5);
  const giveUpAt = Date.now() + leaseMs + timeoutMs;
  let leaseTakenAt: number;
  for (;;) {
    const current = await readOrGone(ctx, recordKey, seen);
    // A finished refresh ends the wait: each retry re-reads first.
    const settled = settledByOthers(seen, current, options);
    if (settled) return settled;
    if (await store.acquireLease(leaseKey, holder, leaseMs)) {
      leaseTakenAt = Date.now();
      break;
    }
    if (Date.now() > giveUpAt) {
      throw new AuthsomeError('refresh_failed', `refresh failed for ${provider} (${connection}): another process held the refresh for too long`, {
        hint: 'Try again; `authsome log --event refresh` shows recent attempts.', provider, connection,
      });
    }
    await sleep(15 + Math.random() * 35); // tens of ms with jitter, so waiters do not move in lockstep
  }
  const started = Date.now();
  try {
    // Step 4: inside the lease, re-read: someone may have refreshed between our read and the lease.
    const current = await readOrGone(ctx, recordKey, seen);
    const settled = settledByOthers(seen, current, options);
    if (settled) return settled;
    // The endpoint this attempt goes to: a client credentials renewal asks the token endpoint again;
    // a refresh grant goes to the definition's refresh_url when it has one.
    const endpoint = isClientCredentials(current) ? server.as.token_endpoint : refreshEndpointOf(server);
    ctx.log.record(`refresh ${provider} (${connection}): generation ${generationOf(current)}, holder ${holder}, to ${endpoint ?? 'no endpoint'}`, { endpoint: endpoint ?? null });
    let response: TokenResponse;
    try {
      // Step 5. A client credentials connection is renewed by asking again, under the same lease.
      response = isClientCredentials(current)
        ? await requestClientCredentialsToken(definition, server, client, { scopes: current.scopes ?? definition.oauth?.scopes ?? [], errorCode: 'refresh_failed' }, transport)
        : await refreshTokenGrant(definition, server, client, current.refresh_token!, transport);
    } catch (error) {
      return await recordFailure(ctx, definition, current, toAuthsomeError(error), Date.now() - started, clientChoice.client_id);
    }
    // Step 6: persist in one local transaction — the only window in which a crash loses a rotated token.
    const tokens = toTokenSet(response, { requestedScopes: current.scopes, defaultLifetime: definition.oauth?.default_token_lifetime });
    const now = toRecordTimestamp();
    // The provider has rotated the pair: these tokens are now the only valid ones, so a store that
    // is briefly unreachable (a PostgreSQL restart) is waited for while the lease still holds.
    const fence: LeaseFence = {
      until: leaseTakenAt + leaseMs,
      renew: async () => {
        try {
          if (!(await store.acquireLease(leaseKey, holder, leaseMs))) return 'lost';
          fence.until = Date.now() + leaseMs;
          return 'renewed';
        } catch {
          return 'unreachable';
        }
      },
    };
    const stored = await untilStored(fence, () => ctx.vault.transaction(profile, async (tx) => {
      const latest = await tx.read('connection', recordKey);
      // Only over the generation we read: a newer record (a fresh login meanwhile) wins.
      if (!latest || changedSince(current, latest)) return latest;
      const record: ConnectionRecord = orderRecord('connection', {
        ...latest,
        status: 'connected',
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token ?? latest.refresh_token, // no new one: keep the old (RFC 6749 §6)
        token_type: tokens.token_type ?? latest.token_type,
        expires_at: tokens.expires_at ? toRecordTimestamp(tokens.expires_at) : null,
        obtained_at: toRecordTimestamp(tokens.obtained_at),
        scopes: tokens.scopes ?? latest.scopes,
        metadata: { ...latest.metadata, generation: generationOf(latest) + 1, last_refresh_at: now, last_refresh_error: null, last_refresh_error_description: null },
      });
      await tx.write('connection', recordKey, record);
      await writeProviderState(tx, profile, provider, now, null);
      return record;
    }));
    const duration = Date.now() - started;
    ctx.auditEvent('refresh', { provider, connection, generation: generationOf(current) + 1, outcome: 'refreshed', duration_ms: duration, status: 'success' });
    ctx.log.record(`refresh ${provider} (${connection}): refreshed in ${duration} ms`, { expires_at: stored?.expires_at ?? null, rotated: Boolean(tokens.refresh_token && tokens.refresh_token !== current.refresh_token) });
    if (!stored) throw gone(seen);
    return { record: stored, refreshed: generationOf(stored) === generationOf(current) + 1 };
  } finally {
    await store.releaseLease(leaseKey, holder).catch(() => undefined);
  }
}

/**
 * Retries write while the store is unavailable — but only under the lease: each retry first
 * renews it, and none starts unless the lease outlasts a whole attempt, because once it lapses
 * another machine may take it and present the spent refresh token. Safe to repeat: the write
 * checks the generation, so an attempt whose COMMIT landed before its connection broke is seen as done.
 */
async function untilStored<T>(fence: LeaseFence, write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof AuthsomeError) || error.code !== 'store_unavailable') throw error;
      await sleep(Math.min(1000, 100 * 2 ** attempt));
      const renewal = await fence.renew();
      if (renewal === 'lost' || Date.now() + WRITE_ATTEMPT_MAX_MS > fence.until) throw new RotatedNotStored(error);
    }
  }
}

/** Step 7: re-read; classify; keep every token; hand out a still-valid one with a warning. */
async function recordFailure(ctx: BrokerContext, definition: ProviderDefinition, current: ConnectionRecord, failure: AuthsomeError, durationMs: number, clientId: string): Promise<FreshResult> {
  const { profile, provider, connection_name: connection } = current;
  const recordKey = keys.connection(profile, provider, connection);
  const oauthError = failure instanceof OAuthError ? failure : null;
  const rejected = Boolean(oauthError?.isRejection);
  const reason = reasonOf(failure);
  const now = toRecordTimestamp();
  const outcome = await ctx.vault.transaction(profile, async (tx) => {
    const latest = await tx.read('connection', recordKey);
    if (!latest) return { record: null, ours: false };
    // Someone else renewed meanwhile (only possible once our lease lapsed): theirs stands.
    if (changedSince(current, latest)) return { record: latest, ours: false };
    const record: ConnectionRecord = orderRecord('connection', {
      ...latest,
      status: rejected ? 'invalid' : 'expired',
      metadata: { ...latest.metadata, last_refresh_at: now, last_refresh_error: reason, last_refresh_error_description: oauthError?.description ?? null },
    });
    await tx.write('connection', recordKey, record);
    await writeProviderState(tx, profile, provider, now, reason);
    // The client itself was refused (a rotated secret): mark it, so the next login asks for a new one.
    if (oauthError && CLIENT_REJECTIONS.has(oauthError.error)) {
      const clientKey = keys.client(profile, provider);
      const client = await tx.read('client', clientKey);
      if (client && client.client_id === clientId) await tx.write('client', clientKey, markClientRejected(client, oauthError.error, now));
    }
    return { record, ours: true };
  });
  if (!outcome.record) throw gone(current);
  if (!outcome.ours) return { record: outcome.record, refreshed: false };
  ctx.auditEvent('refresh', {
    provider, connection, generation: generationOf(current), outcome: rejected ? 'rejected' : 'transient_failure', reason,
    duration_ms: durationMs, status: 'failure',
  });
  ctx.log.record(`refresh ${provider} (${connection}) failed: ${failure.message}`, { state: rejected ? 'invalid' : 'expired' });
  const error = refreshFailed(definition, outcome.record, reason, rejected, oauthError?.fromProvider ? oauthError.description : undefined);
  if (!rejected && accessTokenUsable(outcome.record)) return { record: outcome.record, refreshed: false, warning: `${error.message}; using the current access token until it expires` };
  throw error;
}

/**
 * What another caller's attempt, finished while we waited, means for us: their new token; their
 * rejection (never present the same refresh token again); or their transient failure (no second
 * request in the same moment). Null when nothing changed and we still have to refresh.
 */
function settledByOthers(seen: ConnectionRecord, current: ConnectionRecord, options: FreshOptions): FreshResult | null {
  const attempted = current.metadata?.last_refresh_at !== seen.metadata?.last_refresh_at;
  if (!changedSince(seen, current) && !attempted) return null;
  if (current.status === 'invalid' || current.status === 'revoked') throw rejectedEarlier(current);
  if (current.status === 'expired' && attempted) {
    const reason = String(current.metadata?.last_refresh_error ?? 'refresh failed');
    const message = `refresh failed for ${current.provider} (${current.connection_name}): ${reason}`;
    if (accessTokenUsable(current)) return { record: current, refreshed: false, warning: `${message}; using the current access token until it expires` };
    throw new AuthsomeError('refresh_failed', message, { hint: 'The connection stays expired; the next access tries again.', provider: current.provider, connection: current.connection_name });
  }
  if (options.force || !isDue(current, Date.now(), options.lookaheadMs)) return { record: current, refreshed: false };
  return null;
}

/** RFC 6749 §5.2: the client, not the grant, was refused. */
const CLIENT_REJECTIONS = new Set(['invalid_client', 'unauthorized_client']);

function refreshFailed(definition: ProviderDefinition, record: ConnectionRecord, reason: string, rejected: boolean, description?: string): AuthsomeError {
  const said = description ? `${definition.display_name ?? definition.name} said: ${description}. ` : '';
  const hint = CLIENT_REJECTIONS.has(reason)
    ? `${said}The OAuth client credentials no longer match ${definition.display_name ?? definition.name} (was the client secret rotated?). `
      + `Recover: authsome revoke ${record.provider}, then authsome login ${record.provider} (it collects client_id and client_secret again through the browser form).`
    : rejected
      ? `${said}Log in again: ${loginCommand(record)} (or \`authsome revoke ${record.provider}\`, then \`authsome login ${record.provider}\`).`
      : `${said}The connection stays expired; the next access tries again.`;
  return new AuthsomeError('refresh_failed', `refresh failed for ${record.provider} (${record.connection_name}): ${reason}`, { hint, provider: record.provider, connection: record.connection_name });
}

/** What went wrong, in the words users search for: the provider's error code, or the network's. */
function reasonOf(failure: AuthsomeError): string {
  if (!(failure instanceof OAuthError)) return failure.message;
  switch (failure.error) {
    case 'timeout':
      return 'connection timed out';
    case 'network_error':
      return `could not reach the token endpoint (${failure.description ?? 'network error'})`;
    case 'invalid_response':
      return `the token endpoint gave no OAuth answer${failure.status ? ` (HTTP ${failure.status})` : ''}`;
    default:
      return failure.status && (failure.status >= 500 || failure.status === 429) ? `${failure.error} (HTTP ${failure.status})` : failure.error;
  }
}

function rejectedEarlier(record: ConnectionRecord): AuthsomeError {
  const reason = (record.metadata?.last_refresh_error as string | undefined) ?? (record.status === 'revoked' ? 'revoked' : 'invalid_grant');
  return new AuthsomeError('refresh_failed', `refresh failed for ${record.provider} (${record.connection_name}): ${reason}`, {
    hint: `The provider rejected this connection earlier. Log in again: ${loginCommand(record)}`, provider: record.provider, connection: record.connection_name,
  });
}

async function readOrGone(ctx: BrokerContext, key: string, seen: ConnectionRecord): Promise<ConnectionRecord> {
  const record = await ctx.vault.read(seen.profile, 'connection', key);
  if (!record) throw gone(seen);
  return record;
}

function gone(seen: ConnectionRecord): AuthsomeError {
  return new AuthsomeError('credential_missing', `${seen.provider} (${seen.connection_name}) was removed while it was being refreshed`, {
    hint: `Log in again: ${loginCommand(seen)}`, provider: seen.provider, connection: seen.connection_name,
  });
}

/** The per-provider `state` record, kept as the Python implementation keeps it. */
async function writeProviderState(tx: VaultTransaction, profile: string, provider: string, at: string, error: string | null): Promise<void> {
  const key = keys.state(profile, provider);
  const existing = await tx.read('state', key);
  const state: ProviderStateRecord = orderRecord('state', { ...(existing ?? { metadata: {} }), schema_version: 2, provider, profile, last_refresh_at: at, last_refresh_error: error });
  await tx.write('state', key, state);
}

function loginCommand(record: ConnectionRecord): string {
  return `authsome login ${record.provider} --force${record.connection_name === 'default' ? '' : ` --connection ${record.connection_name}`}`;
}
