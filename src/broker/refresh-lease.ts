// The leases of the refresh protocol (refresh-protocol.md step 3) and how `rekey` keeps clear of
// them. A refresh lease is one connection's; a rekey lease is a whole profile's. The two sides
// each write their own lease first and then look for the other's — a refresher gives its lease
// back when it sees a rekey, a rekey waits until no refresh lease is left — so whichever order
// their writes land in, no refresh spends a token while a rekey re-seals the store (issue 13).
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthsomeError } from '../util/index.ts';
import { keys, parseKey, type LeaseInfo, type Store } from '../vault/index.ts';
import { isLeaseHolderGone } from './lease-holder.ts';

/** The lease of one connection's refresh. */
export function refreshLeaseKey(recordKey: string): string {
  return `refresh:${recordKey}`;
}

/** The lease a rekey holds on a profile for its whole run. */
export function rekeyLeaseKey(profile: string): string {
  return `rekey:${keys.profilePrefix(profile)}`;
}

export type LeaseTry = 'acquired' | 'held' | 'rekey';

export interface LeaseTryResult {
  outcome: LeaseTry;
  /** The holder whose lease was freed because its process is gone (for the debug log). */
  freedFrom?: string;
}

/**
 * One attempt at a connection's refresh lease. The lease is looked at first: while another
 * process holds it, the attempt writes nothing (issue 18: a crowd of waiters must not contend for
 * the store's write lock with the holder). A lease held by a process on this machine that has died
 * is freed at once (checkHolder: asked only now and then, it costs a read of /proc) by a
 * conditional delete of only that holder's row, instead of after its TTL. A lease taken while a
 * rekey holds the profile is given back at once: 'rekey'. The conditional write alone decides who
 * gets the lease: two callers that both saw it free cannot both take it.
 */
export async function tryRefreshLease(
  store: Store, profile: string, key: string, holder: string, ttlMs: number, options: { checkHolder: boolean } = { checkHolder: true },
): Promise<LeaseTryResult> {
  let freedFrom: string | undefined;
  const current = await liveLease(store, key);
  if (current && current.holder !== holder) {
    if (!options.checkHolder || !isLeaseHolderGone(current.holder)) return { outcome: 'held' };
    await store.releaseLease(key, current.holder);
    freedFrom = current.holder;
  }
  const acquired = await store.acquireLease(key, holder, ttlMs);
  if (!acquired) return { outcome: 'held', freedFrom };
  // Only after our own lease is written: a rekey that wrote its lease before this read is seen
  // here; one that writes it after this read sees ours and waits for it.
  const rekey = await liveLease(store, rekeyLeaseKey(profile));
  if (rekey && !isLeaseHolderGone(rekey.holder)) {
    await store.releaseLease(key, holder);
    return { outcome: 'rekey', freedFrom };
  }
  return { outcome: 'acquired', freedFrom };
}

/** The lease on exactly this key when it has not lapsed. */
export async function liveLease(store: Store, key: string): Promise<LeaseInfo | null> {
  return (await store.leases(key)).find((lease) => lease.key === key && lease.remainingMs > 0) ?? null;
}

/** Long enough for a rekey of many records; renewed as it moves from profile to profile. */
export const REKEY_LEASE_MS = 60_000;
/** A rekey gives up waiting for refreshes after this long (leases lapse after 1.5 × the request timeout). */
const REKEY_WAIT_MS = 120_000;

export interface RefreshInFlight {
  profile: string;
  provider: string;
  connection: string;
  holder: string;
}

/**
 * Takes the rekey lease of each profile, then waits until no refresh lease of it is live (one
 * held by a process that is gone does not count). `onWait` hears once of the refreshes waited for.
 * Returns a function that renews the rekey leases (call it between long steps) and one that
 * gives them back.
 */
export async function excludeRefreshes(
  stores: Array<{ profile: string; store: Store }>, holder: string, onWait: (inFlight: RefreshInFlight[]) => void,
): Promise<{ renew: () => Promise<void>; release: () => Promise<void> }> {
  const taken: Array<{ profile: string; store: Store }> = [];
  const release = async () => {
    for (const { profile, store } of taken) await store.releaseLease(rekeyLeaseKey(profile), holder).catch(() => undefined);
  };
  try {
    for (const entry of stores) {
      const key = rekeyLeaseKey(entry.profile);
      if (!(await entry.store.acquireLease(key, holder, REKEY_LEASE_MS))) {
        const other = await liveLease(entry.store, key);
        if (other && !isLeaseHolderGone(other.holder)) {
          throw new AuthsomeError('conflict', `another rekey is running on profile ${entry.profile} (${other.holder})`, {
            hint: 'Wait for it to finish, then run `authsome rekey` again if it was interrupted.',
          });
        }
        if (other) await entry.store.releaseLease(key, other.holder);
        if (!(await entry.store.acquireLease(key, holder, REKEY_LEASE_MS))) {
          throw new AuthsomeError('conflict', `another rekey started on profile ${entry.profile} at the same moment`, { hint: 'Run `authsome rekey` again.' });
        }
      }
      taken.push(entry);
    }
    const deadline = Date.now() + REKEY_WAIT_MS;
    let told = false;
    let renewedAt = Date.now();
    for (;;) {
      const inFlight: RefreshInFlight[] = [];
      for (const { profile, store } of stores) {
        for (const lease of await store.leases(`refresh:${keys.profilePrefix(profile)}`)) {
          if (lease.remainingMs <= 0 || isLeaseHolderGone(lease.holder)) continue;
          const parsed = parseKey(lease.key.slice('refresh:'.length));
          inFlight.push({ profile, provider: parsed?.provider ?? '?', connection: parsed?.connection ?? '?', holder: lease.holder });
        }
      }
      if (inFlight.length === 0) break;
      if (!told) onWait(inFlight);
      told = true;
      if (Date.now() > deadline) {
        throw new AuthsomeError('conflict', `rekey stopped before changing anything: ${inFlight.length} refresh(es) kept running for ${REKEY_WAIT_MS / 1000} s`, {
          hint: 'Run `authsome rekey` again; `authsome log --event refresh` shows recent attempts.',
        });
      }
      await sleep(25 + Math.random() * 25);
      if (Date.now() - renewedAt > REKEY_LEASE_MS / 4) {
        for (const { profile, store } of taken) await store.acquireLease(rekeyLeaseKey(profile), holder, REKEY_LEASE_MS);
        renewedAt = Date.now();
      }
    }
  } catch (error) {
    await release();
    throw error;
  }
  const renew = async () => {
    for (const { profile, store } of taken) await store.acquireLease(rekeyLeaseKey(profile), holder, REKEY_LEASE_MS);
  };
  return { renew, release };
}
