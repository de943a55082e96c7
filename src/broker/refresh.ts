// The refresh protocol (refresh-protocol.md): at most one refresh per connection in flight across
// threads, processes and machines sharing a store; a spent refresh token never presented again;
// the rotated pair stored before anyone gets the new access token; never a credential lost
// because a refresh failed; failure states that say whether to retry (`expired`) or log in again
// (`invalid`).
import { setTimeout as sleep } from 'node:timers/promises';
import { OAuthError, buildClient, refreshEndpointOf, refreshTokenGrant, requestClientCredentialsToken, toTokenSet, type TokenResponse, type TokenSet } from '../oauth/index.ts';
import type { ProviderDefinition } from '../providers/index.ts';
import { AuthsomeError, parseTimestamp, toAuthsomeError, toRecordTimestamp } from '../util/index.ts';
import { keys, type ConnectionRecord, type Store } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { newLeaseHolder } from './lease-holder.ts';
import { isSameClient, knownClient, markClientRejected, serverFor, transportFor } from './oauth-support.ts';
import { refreshLeaseKey, tryRefreshLease } from './refresh-lease.ts';
import { accessTokenUsable, canRenew, changedSince, generationOf, isClientCredentials, isDue, isRejected } from './refresh-policy.ts';
import { failedForm, isOwnPending, pendingForm, pendingOf, refreshedForm, writeProviderState } from './refresh-records.ts';
import { hasRescue, readRescue, removeRescue, rescueBytesFor, reserveRescue, type RescueReservation } from './refresh-rescue.ts';
import { keptRouteValues } from './route-values.ts';
import { connectionUrlValues } from './tenant.ts';

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

interface AttemptOptions extends FreshOptions {
  /** Here for a rescue file: restore it; refresh only when the record is due as well. */
  rescue?: boolean;
}

/** In-process single flight (step 2): every caller for one connection shares one attempt. */
const inFlight = new Map<string, Promise<FreshResult>>();

/** The record with an access token that is not due for renewal, renewing it first if needed. */
export function ensureFresh(ctx: BrokerContext, record: ConnectionRecord, options: FreshOptions = {}): Promise<FreshResult> {
  if (record.auth_type !== 'oauth2') return Promise.resolve({ record, refreshed: false });
  // Renewed tokens that an earlier attempt could not store wait in a rescue file: they go to the
  // store first, whatever the record says (restoreRescued, under the lease).
  if (hasRescue(ctx.home.root, keys.connection(record.profile, record.provider, record.connection_name))) return single(ctx, record, { ...options, rescue: true });
  return withoutRefresh(ctx, record, options) ?? single(ctx, record, options);
}

/** The outcome when this record needs no token request (fresh, rejected earlier, backing off), else null. */
function withoutRefresh(ctx: BrokerContext, record: ConnectionRecord, options: FreshOptions): Promise<FreshResult> | null {
  if (isRejected(record) && !options.force) return Promise.reject(rejectedEarlier(record));
  if (!options.force && !isDue(record, Date.now(), options.lookaheadMs)) return Promise.resolve({ record, refreshed: false });
  if (!canRenew(record)) {
    if (accessTokenUsable(record)) return Promise.resolve({ record, refreshed: false });
    return Promise.reject(new AuthsomeError('refresh_failed', `the access token of ${record.provider} (${record.connection_name}) has expired and the provider issued no refresh token`, {
      hint: `Log in again: ${loginCommand(record)}`, provider: record.provider, connection: record.connection_name,
    }));
  }
  return options.force ? null : backingOff(record, ctx.settings.refreshBackoffMs);
}

/** Step 2: one attempt per connection in this process. */
function single(ctx: BrokerContext, record: ConnectionRecord, options: AttemptOptions): Promise<FreshResult> {
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
  // A failure stamped in the future comes from a machine whose clock runs ahead (a shared store):
  // it must not lock the others out for longer than the back-off, so it is ignored.
  if (at.getTime() > Date.now()) return null;
  const retryAt = at.getTime() + backoffMs;
  if (Date.now() >= retryAt) return null;
  const message = `refresh failed for ${record.provider} (${record.connection_name}): ${reason}`;
  if (accessTokenUsable(record)) return Promise.resolve({ record, refreshed: false, warning: `${message}; using the current access token until it expires` });
  return Promise.reject(new AuthsomeError('refresh_failed', message, {
    hint: `The connection stays expired; the next access from ${toRecordTimestamp(new Date(retryAt))} tries again.`, provider: record.provider, connection: record.connection_name,
  }));
}

async function refreshProtocol(ctx: BrokerContext, seen: ConnectionRecord, options: AttemptOptions): Promise<FreshResult> {
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
  auditRefresh(ctx, {
    provider, connection, generation: generationOf(seen), outcome: rotated ? 'not_stored' : 'store_unavailable', reason: failure.message, status: 'failure',
  });
  ctx.log.record(`refresh ${provider} (${connection}) failed: ${failure.message}`, { state: rotated ? 'spent' : 'expired' });
  const message = `refresh failed for ${provider} (${connection}): ${rotated ? 'the renewed tokens could not be stored' : 'store unavailable'}`;
  const detail = rotated ? failure.detail : failure.message;
  if (accessTokenUsable(seen)) return { record: seen, refreshed: false, warning: `${message} (${detail}); using the current access token until it expires` };
  throw new AuthsomeError('refresh_failed', message, {
    hint: rotated
      ? `${detail}. The provider rotated the refresh token; if the next access says invalid_grant, log in again: ${loginCommand(seen)}`
      : `${detail}. Nothing was changed; the next access tries again once the store is back.`,
    provider, connection, cause: failure,
  });
}

/** The provider rotated the pair, the store would not take it, and no rescue file could hold it either. */
class RotatedNotStored extends AuthsomeError {
  /** Why the store refused, and why the rescue file could not take the pair either. */
  readonly detail: string;
  constructor(cause: AuthsomeError, rescueFailure?: string) {
    const detail = `${cause.message}${rescueFailure ? `; no rescue file could hold them either (${rescueFailure})` : ''}`;
    super('store_unavailable', `the renewed tokens could not be stored: ${detail}`, { cause });
    this.detail = detail;
  }
}

/** The longest one write attempt can take: the store's own reconnect window plus a connect timeout. */
const WRITE_ATTEMPT_MAX_MS = 10_000;

async function refreshUnderLease(ctx: BrokerContext, seen: ConnectionRecord, options: AttemptOptions): Promise<FreshResult> {
  const { profile, provider, connection_name: connection } = seen;
  const recordKey = keys.connection(profile, provider, connection);
  const store = ctx.vault.store(profile);
  const leaseKey = refreshLeaseKey(recordKey);
  // Host, pid and process start time: a waiter on this machine frees the lease of a dead holder at once.
  const holder = newLeaseHolder();
  const timeoutMs = ctx.settings.refreshTimeoutMs;
  // Step 3: the lease outlives the token request, so a crashed holder is replaced, never waited on forever.
  const leaseMs = Math.round(timeoutMs * 1.5);
  const taken = await takeLease(ctx, { store, recordKey, leaseKey, holder, leaseMs, giveUpAt: Date.now() + leaseMs + timeoutMs }, seen, options);
  if ('settled' in taken) return taken.settled;
  const fence: LeaseFence = {
    until: taken.takenAt + leaseMs,
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
  let reservation: RescueReservation | null = null;
  try {
    // Step 4: inside the lease, re-read: someone may have refreshed between our read and the lease.
    const current = await readOrGone(ctx, recordKey, seen);
    const settled = settledByOthers(seen, current, options);
    if (settled) return settled;
    // Metadata discovery and the client lookup come under the lease (issue 18): a crowd of callers
    // at expiry then waits for one holder's answer instead of each loading the OAuth code and
    // asking the issuer first — work that, on a busy machine, cost more than the refresh itself.
    // The lease still covers the whole token request: it is renewed right before it (below).
    const definition = (await ctx.registry.require(provider)).definition;
    const transport = transportFor(ctx, definition);
    let server: Awaited<ReturnType<typeof serverFor>>;
    try {
      server = await serverFor(ctx, definition, connectionUrlValues(current), transport);
    } catch (error) {
      // The issuer's metadata could not be read (a provider that is down or unreachable): nothing
      // was spent, and it is the same transient failure as an unreachable token endpoint — the
      // connection is marked expired and the back-off spares the next callers the wait.
      const failure = toAuthsomeError(error);
      if (failure instanceof OAuthError && !failure.isRejection) return await recordUnreached(ctx, definition, current, failure);
      throw failure;
    }
    const clientChoice = await knownClient(ctx, definition, { profile, preferStored: true });
    if (!clientChoice) {
      throw new AuthsomeError('refresh_failed', `refresh failed for ${provider} (${connection}): no OAuth client credentials are stored or set`, {
        hint: `Set ${definition.client?.client_id_env ?? 'the client ID variable'}, or log in again: ${loginCommand(seen)}`, provider, connection,
      });
    }
    transport.secret(clientChoice.client_secret);
    transport.secret(current.refresh_token);
    // The rotated pair must be storable before the old refresh token is spent: a key that does not
    // fit this store fails here, while nothing has happened yet.
    await ctx.vault.assertWritable();
    const client = buildClient(definition, clientChoice, server.as);
    const started = Date.now();
    // Tokens an earlier attempt could not store come first: the refresh token they replaced is spent.
    const restored = await restoreRescued(ctx, current);
    if (restored) return restored;
    // Here only for a rescue that turned out stale: the usual reasons not to refresh still apply.
    const unneeded = options.rescue ? withoutRefresh(ctx, current, options) : null;
    if (unneeded) return await unneeded;
    // The endpoint this attempt goes to: a client credentials renewal asks the token endpoint again;
    // a refresh grant goes to the definition's refresh_url when it has one.
    const endpoint = isClientCredentials(current) ? server.as.token_endpoint : refreshEndpointOf(server);
    ctx.log.record(`refresh ${provider} (${connection}): generation ${generationOf(current)}, holder ${holder}, to ${endpoint ?? 'no endpoint'}`, { endpoint: endpoint ?? null });

    // Before the refresh token is spent, the write that must follow is made sure of (issue 13):
    // the rescue file's space is reserved, then the pending form is written — proving the store
    // takes a write of the refreshed form's size now, reserving that space, and fencing the record
    // so a holder whose lease is taken over can never write it again.
    reservation = reserveRescueOrNull(ctx, recordKey, current);
    const pending = await writePending(ctx, recordKey, current, holder);
    if (!pending.ours) return settledAfterFence(pending.latest, seen);
    const reserved = await store.reuseWrittenSpace().catch(() => false);
    // The lease is renewed right before the request, so it covers the whole request even for a
    // process held up since it took the lease (Ctrl-Z, a debugger); if another holder has it now,
    // nothing is sent. On SQLite this small write is also the one that starts the checkpointed log
    // anew (and syncs its header), so the write after the answer overwrites frames in place and
    // waits for no extra sync: the window after the answer stays one local commit.
    if ((await fence.renew()) !== 'renewed') {
      throw new AuthsomeError('refresh_failed', `refresh failed for ${provider} (${connection}): this process was held up until its lease was taken over; nothing was sent`, {
        hint: 'Try again.', provider, connection,
      });
    }
    ctx.log.debug(`refresh ${provider} (${connection}): pending form written (generation ${generationOf(pending.record)}), space ${reserved ? 'reserved' : 'not reserved'}`);

    let response: TokenResponse;
    try {
      // Step 5. A client credentials connection is renewed by asking again, under the same lease.
      response = isClientCredentials(current)
        ? await requestClientCredentialsToken(definition, server, client, { scopes: current.scopes ?? definition.oauth?.scopes ?? [], errorCode: 'refresh_failed' }, transport)
        : await refreshTokenGrant(definition, server, client, current.refresh_token!, transport);
    } catch (error) {
      return await recordFailure(ctx, definition, pending.record, toAuthsomeError(error), Date.now() - started, clientChoice);
    }
    // Step 6: persist in one local transaction — the only window in which a crash loses a rotated token.
    const tokens = toTokenSet(response, {
      requestedScopes: current.scopes, defaultLifetime: definition.oauth?.default_token_lifetime,
      refreshLifetime: definition.oauth?.refresh_token_lifetime, refreshIdleLifetime: definition.oauth?.refresh_token_idle_lifetime,
      keepsRefreshToken: Boolean(current.refresh_token), previousRefreshExpiresAt: parseTimestamp(current.refresh_expires_at as string | undefined),
    });
    const now = toRecordTimestamp();
    const kept = keptRouteValues(definition, response.tokens as Record<string, unknown>);
    let outcome: { record: ConnectionRecord; ours: boolean } | null;
    try {
      outcome = await storeRefreshed(ctx, fence, recordKey, pending.record, tokens, now, kept);
    } catch (error) {
      const rescued = await rescue(ctx, reservation, pending.record, holder, tokens, now, kept, toAuthsomeError(error));
      reservation = null;
      return rescued;
    }
    const duration = Date.now() - started;
    if (!outcome) throw gone(seen);
    if (!outcome.ours) {
      ctx.log.record(`refresh ${provider} (${connection}): another holder took the lease over; this attempt's tokens were not stored`, { generation: generationOf(outcome.record) });
      return settledAfterFence(outcome.record, seen);
    }
    auditRefresh(ctx, { provider, connection, generation: generationOf(outcome.record), outcome: 'refreshed', duration_ms: duration, status: 'success' });
    ctx.log.record(`refresh ${provider} (${connection}): refreshed in ${duration} ms`, { expires_at: outcome.record.expires_at ?? null, rotated: Boolean(tokens.refresh_token && tokens.refresh_token !== current.refresh_token) });
    return { record: outcome.record, refreshed: true };
  } finally {
    reservation?.discard();
    await store.releaseLease(leaseKey, holder).catch(() => undefined);
  }
}

interface LeaseAttempt {
  store: Store;
  recordKey: string;
  leaseKey: string;
  holder: string;
  leaseMs: number;
  /** A waiter stops waiting then: the lease of a holder that never finishes lapses well before. */
  giveUpAt: number;
}

/**
 * Step 3: takes the lease, or returns what another caller's attempt, finished meanwhile, left.
 * Each retry first re-reads the record, because a finished refresh ends the wait. While another
 * live process holds the lease, waiting only reads (tryRefreshLease writes nothing then): a crowd
 * at expiry never contends for the store's write lock with the holder, which needs it to store the
 * renewed pair (issue 18). Waits start at tens of ms and grow to ~100 ms, with jitter, so waiters
 * neither move in lockstep nor poll a slow holder many times a second each.
 */
async function takeLease(ctx: BrokerContext, attempt: LeaseAttempt, seen: ConnectionRecord, options: FreshOptions): Promise<{ takenAt: number } | { settled: FreshResult }> {
  const { store, recordKey, leaseKey, holder, leaseMs, giveUpAt } = attempt;
  const { profile, provider, connection_name: connection } = seen;
  let holderCheckedAt = 0;
  for (let retry = 0; ; retry += 1) {
    const current = await readOrGone(ctx, recordKey, seen);
    const settled = settledByOthers(seen, current, options);
    if (settled) return { settled };
    // Whether the holder is alive is asked at most every 250 ms: it costs a read of /proc.
    const checkHolder = Date.now() - holderCheckedAt >= 250;
    if (checkHolder) holderCheckedAt = Date.now();
    const outcome = await tryRefreshLease(store, profile, leaseKey, holder, leaseMs, { checkHolder });
    if (outcome.freedFrom) ctx.log.record(`refresh ${provider} (${connection}): freed the lease of ${outcome.freedFrom}: its process is gone`);
    if (outcome.outcome === 'acquired') return { takenAt: Date.now() };
    if (Date.now() > giveUpAt) {
      const why = outcome.outcome === 'rekey' ? '`authsome rekey` was re-encrypting the store for too long' : 'another process held the refresh for too long';
      throw new AuthsomeError('refresh_failed', `refresh failed for ${provider} (${connection}): ${why}`, {
        hint: 'Try again; `authsome log --event refresh` shows recent attempts.', provider, connection,
      });
    }
    await sleep(Math.min(100, 20 * 1.5 ** retry) * (0.5 + Math.random()));
  }
}

/** The lease of this attempt: when it ends, and how to extend it (same holder). */
interface LeaseFence {
  until: number;
  /** 'lost' when another holder has it now. */
  renew(): Promise<'renewed' | 'lost' | 'unreachable'>;
}

/**
 * Writes the pending form over `current`, unless the record changed since it was read (then the
 * latest is returned, not ours). Before the refresh token is spent: a store that cannot take the
 * write fails here, with nothing spent; so does a master key that does not open the record (the
 * vault checks the key on disk first, so a rekey that ran meanwhile is seen, issue 13).
 */
async function writePending(ctx: BrokerContext, recordKey: string, current: ConnectionRecord, holder: string): Promise<{ ours: true; record: ConnectionRecord } | { ours: false; latest: ConnectionRecord | null }> {
  const now = toRecordTimestamp();
  return ctx.vault.transaction(current.profile, async (tx) => {
    const latest = await tx.read('connection', recordKey);
    if (!latest || changedSince(current, latest) || pendingOf(latest)?.holder !== pendingOf(current)?.holder) return { ours: false as const, latest };
    const record = pendingForm(latest, holder, now);
    await tx.write('connection', recordKey, record);
    // The state record is written too (an attempt started now; its last error kept), so the space
    // the refreshed form's write of it needs is reserved with the rest.
    const state = await tx.read('state', keys.state(current.profile, current.provider));
    await writeProviderState(tx, current.profile, current.provider, now, state?.last_refresh_error ?? null);
    return { ours: true as const, record };
  });
}

/**
 * Step 6's write, only over this attempt's own pending form. A shared store that is briefly
 * unreachable (a PostgreSQL restart) is waited for while the lease holds; SQLite gets one attempt
 * (its failures — a full disk, a lock held for 5 s — do not pass in a moment).
 */
async function storeRefreshed(ctx: BrokerContext, fence: LeaseFence, recordKey: string, pending: ConnectionRecord, tokens: TokenSet, now: string, kept: Record<string, string>): Promise<{ record: ConnectionRecord; ours: boolean } | null> {
  // While the lease holds, no rekey has re-sealed anything (it waits for live leases): the key
  // confirmed before the request still stands, and this write — the window after the answer —
  // skips reading master.key again.
  const write = () => ctx.vault.transaction(pending.profile, async (tx) => {
    const latest = await tx.read('connection', recordKey);
    if (!latest) return null;
    // Only over our pending form: a takeover (our lease lapsed), a new login meanwhile, or a
    // failure written by the holder after us moved the generation on, and theirs stands.
    if (!isOwnPending(latest, pending)) return { record: latest, ours: false };
    const record = refreshedForm(latest, tokens, now, kept);
    await tx.write('connection', recordKey, record);
    await writeProviderState(tx, pending.profile, pending.provider, now, null);
    return { record, ours: true };
  }, { keyConfirmed: Date.now() < fence.until });
  return ctx.vault.backend().kind === 'postgres' ? untilStored(fence, write) : write();
}

/**
 * The store would not take the renewed pair after the provider rotated it: the pair goes to the
 * rescue file reserved for it, and the caller gets it (it is durable there). The next access
 * writes it to the store. Without a reservation, or if even that write fails, the caller hears
 * that the tokens are lost (storeOutage).
 */
async function rescue(ctx: BrokerContext, reservation: RescueReservation | null, pending: ConnectionRecord, holder: string, tokens: TokenSet, now: string, kept: Record<string, string>, failure: AuthsomeError): Promise<FreshResult> {
  const { profile, provider, connection_name: connection } = pending;
  const cause = failure instanceof RotatedNotStored ? (failure.cause as AuthsomeError) : failure;
  if (!reservation) throw new RotatedNotStored(cause, 'none could be reserved');
  const record = refreshedForm(pending, tokens, now, kept);
  try {
    reservation.fill({ key: keys.connection(profile, provider, connection), generation: generationOf(pending), holder, record: await ctx.vault.sealRecord('connection', record) });
  } catch (error) {
    reservation.discard();
    throw new RotatedNotStored(cause, toAuthsomeError(error).message);
  }
  auditRefresh(ctx, { provider, connection, generation: generationOf(record), outcome: 'rescued', reason: cause.message, status: 'success' });
  ctx.log.record(`refresh ${provider} (${connection}): the renewed tokens could not be stored (${cause.message}); kept in ${reservation.path}`, { state: 'rescued' });
  ctx.onWarning(`refresh of ${provider} (${connection}): the renewed tokens could not be written to the store (${cause.message}); they were rescued to ${reservation.path} (encrypted) and the next access writes them to the store`);
  return { record, refreshed: true };
}

/**
 * Writes a rescued pair to the store (under the lease, over the pending form it continues) and
 * removes the file. A rescue the record has moved on from (a new login, another refresh) is stale
 * and removed. If the store still refuses, the rescued pair is handed out and the file kept.
 */
async function restoreRescued(ctx: BrokerContext, current: ConnectionRecord): Promise<FreshResult | null> {
  const { profile, provider, connection_name: connection } = current;
  const recordKey = keys.connection(profile, provider, connection);
  const envelope = readRescue(ctx.home.root, recordKey);
  if (!envelope) return null;
  if (envelope.generation !== generationOf(current) || pendingOf(current)?.holder !== envelope.holder) {
    removeRescue(ctx.home.root, recordKey);
    ctx.log.record(`refresh ${provider} (${connection}): removed a stale rescue file (it continued generation ${envelope.generation}; the record is at ${generationOf(current)})`);
    return null;
  }
  let record: ConnectionRecord | null;
  try {
    record = await ctx.vault.openRecord('connection', recordKey, envelope.record);
  } catch (error) {
    ctx.log.record(`refresh ${provider} (${connection}): the rescue file cannot be opened (${toAuthsomeError(error).message}); it is kept`);
    return null;
  }
  if (!record) return null;
  try {
    const stored = await ctx.vault.transaction(profile, async (tx) => {
      const latest = await tx.read('connection', recordKey);
      if (!latest || !isOwnPending(latest, current)) return null;
      await tx.write('connection', recordKey, record);
      await writeProviderState(tx, profile, provider, String(record.metadata?.last_refresh_at ?? toRecordTimestamp()), null);
      return record;
    });
    if (!stored) return null;
  } catch (error) {
    const reason = toAuthsomeError(error).message;
    ctx.onWarning(`the renewed tokens of ${provider} (${connection}) are still only in the rescue file (${reason}); the next access tries again to store them`);
    return { record, refreshed: false };
  }
  removeRescue(ctx.home.root, recordKey);
  auditRefresh(ctx, { provider, connection, generation: generationOf(record), outcome: 'restored', status: 'success' });
  ctx.log.record(`refresh ${provider} (${connection}): restored the renewed tokens from the rescue file`, { generation: generationOf(record) });
  return { record, refreshed: true };
}

function reserveRescueOrNull(ctx: BrokerContext, recordKey: string, current: ConnectionRecord): RescueReservation | null {
  try {
    return reserveRescue(ctx.home.root, recordKey, rescueBytesFor(JSON.stringify(current).length));
  } catch (error) {
    // A home that cannot take it (full, read-only): the refresh goes on, without a net.
    ctx.log.record(`refresh ${current.provider} (${current.connection_name}): no rescue file could be reserved (${toAuthsomeError(error).message})`);
    return null;
  }
}

/**
 * Retries write while the store is unavailable — but only under the lease: each retry first
 * renews it, and none starts unless the lease outlasts a whole attempt, because once it lapses
 * another machine may take it and present the spent refresh token. Safe to repeat: the write
 * checks the pending form, so an attempt whose COMMIT landed before its connection broke is seen as done.
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
async function recordFailure(
  ctx: BrokerContext, definition: ProviderDefinition, pending: ConnectionRecord, failure: AuthsomeError, durationMs: number, usedClient: { client_id: string; client_secret: string | null },
): Promise<FreshResult> {
  const { profile, provider, connection_name: connection } = pending;
  const recordKey = keys.connection(profile, provider, connection);
  const oauthError = failure instanceof OAuthError ? failure : null;
  const rejected = Boolean(oauthError?.isRejection);
  const reason = reasonOf(failure);
  const now = toRecordTimestamp();
  const outcome = await ctx.vault.transaction(profile, async (tx) => {
    const latest = await tx.read('connection', recordKey);
    if (!latest) return { record: null, ours: false };
    // Someone else took over meanwhile (only possible once our lease lapsed): theirs stands.
    if (!isOwnPending(latest, pending)) return { record: latest, ours: false };
    const record = failedForm(latest, rejected, reason, oauthError?.description ?? null, now);
    await tx.write('connection', recordKey, record);
    await writeProviderState(tx, profile, provider, now, reason);
    // The client itself was refused (a rotated secret): mark that very client (a corrected one
    // stored meanwhile is not it), so the next login asks for a new one.
    if (oauthError?.error === 'invalid_client') {
      const clientKey = keys.client(profile, provider);
      const client = await tx.read('client', clientKey);
      if (client && isSameClient(client, usedClient)) await tx.write('client', clientKey, markClientRejected(client, oauthError.error, now));
    }
    return { record, ours: true };
  });
  if (!outcome.record) throw gone(pending);
  if (!outcome.ours) return settledAfterFence(outcome.record, pending);
  auditRefresh(ctx, {
    provider, connection, generation: generationOf(outcome.record), outcome: rejected ? 'rejected' : 'transient_failure', reason,
    duration_ms: durationMs, status: 'failure',
  });
  ctx.log.record(`refresh ${provider} (${connection}) failed: ${failure.message}`, { state: rejected ? 'invalid' : 'expired' });
  const error = refreshFailed(definition, outcome.record, reason, rejected, oauthError?.fromProvider ? oauthError.description : undefined);
  if (!rejected && accessTokenUsable(outcome.record)) return { record: outcome.record, refreshed: false, warning: `${error.message}; using the current access token until it expires` };
  throw error;
}

/**
 * A transient failure before any token request (the issuer's metadata unreachable): marked on the
 * record like a failed attempt — `expired`, the reason kept, every token kept — unless another
 * process changed the record meanwhile; audited; a still-valid token handed out with a warning.
 */
async function recordUnreached(ctx: BrokerContext, definition: ProviderDefinition, seen: ConnectionRecord, failure: OAuthError): Promise<FreshResult> {
  const { profile, provider, connection_name: connection } = seen;
  const recordKey = keys.connection(profile, provider, connection);
  const reason = reasonOf(failure);
  const now = toRecordTimestamp();
  const marked = await ctx.vault.transaction(profile, async (tx) => {
    const latest = await tx.read('connection', recordKey);
    if (!latest || changedSince(seen, latest) || pendingOf(latest)) return null;
    const record = failedForm(latest, false, reason, null, now);
    await tx.write('connection', recordKey, record);
    await writeProviderState(tx, profile, provider, now, reason);
    return record;
  });
  const record = marked ?? seen;
  if (marked) {
    auditRefresh(ctx, { provider, connection, generation: generationOf(marked), outcome: 'transient_failure', reason, status: 'failure' });
    ctx.log.record(`refresh ${provider} (${connection}) failed before its token request: ${failure.message}`, { state: 'expired' });
  }
  const error = refreshFailed(definition, record, reason, false);
  if (accessTokenUsable(record)) return { record, refreshed: false, warning: `${error.message}; using the current access token until it expires` };
  throw error;
}

/**
 * What a holder whose write was refused by the fence hands its caller: what the other holder
 * left — its rejection, its new token, or (still in flight) a transient failure.
 */
function settledAfterFence(latest: ConnectionRecord | null, seen: ConnectionRecord): FreshResult {
  if (!latest) throw gone(seen);
  if (isRejected(latest)) throw rejectedEarlier(latest);
  if (pendingOf(latest)) {
    throw new AuthsomeError('refresh_failed', `refresh failed for ${latest.provider} (${latest.connection_name}): another process took this refresh over while this one was held up`, {
      hint: 'Try again; the other process\'s result is used.', provider: latest.provider, connection: latest.connection_name,
    });
  }
  return { record: latest, refreshed: false };
}


/**
 * Audit entries of the refresh. Writing one can fail (a full disk, a read-only home); that never
 * masks or replaces the outcome of the refresh itself: it becomes a warning (issue 13).
 */
function auditRefresh(ctx: BrokerContext, fields: Record<string, unknown>): void {
  try {
    ctx.auditEvent('refresh', fields);
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
    ctx.onWarning(`the audit log could not be written${code && /^E[A-Z]+$/.test(code) ? ` (${code})` : ''}: ${toAuthsomeError(error).message}; the refresh itself is not affected`);
  }
}

/**
 * What another caller's attempt, finished while we waited, means for us: their new token; their
 * rejection (never present the same refresh token again); or their transient failure (no second
 * request in the same moment). Null when nothing changed and we still have to refresh.
 */
function settledByOthers(seen: ConnectionRecord, current: ConnectionRecord, options: FreshOptions): FreshResult | null {
  // A refresh in flight (or one whose holder died or stalled): nothing is settled until it ends —
  // unless the tokens moved on meanwhile (a writer that keeps metadata as it is, the Python
  // authsome, refreshed and carried the mark along).
  if (pendingOf(current) && current.access_token === seen.access_token && current.refresh_token === seen.refresh_token) return null;
  const attempted = current.metadata?.last_refresh_at !== seen.metadata?.last_refresh_at;
  if (!changedSince(seen, current) && !attempted) return null;
  if (isRejected(current)) throw rejectedEarlier(current);
  if (current.status === 'expired' && attempted) {
    const reason = String(current.metadata?.last_refresh_error ?? 'refresh failed');
    const message = `refresh failed for ${current.provider} (${current.connection_name}): ${reason}`;
    if (accessTokenUsable(current)) return { record: current, refreshed: false, warning: `${message}; using the current access token until it expires` };
    throw new AuthsomeError('refresh_failed', message, { hint: 'The connection stays expired; the next access tries again.', provider: current.provider, connection: current.connection_name });
  }
  if (options.force || !isDue(current, Date.now(), options.lookaheadMs)) return { record: current, refreshed: false };
  return null;
}


function refreshFailed(definition: ProviderDefinition, record: ConnectionRecord, reason: string, rejected: boolean, description?: string): AuthsomeError {
  const said = description ? `${definition.display_name ?? definition.name} said: ${description}. ` : '';
  // RFC 6749 §5.2: invalid_client refuses the client itself, not the grant.
  const hint = reason === 'invalid_client'
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

function loginCommand(record: ConnectionRecord): string {
  return `authsome login ${record.provider} --force${record.connection_name === 'default' ? '' : ` --connection ${record.connection_name}`}`;
}
