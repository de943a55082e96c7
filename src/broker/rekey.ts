// `rekey`: re-encrypt every record of every profile under a new master key.
// Order matters, so a crash at any point loses nothing:
//   1. decrypt everything with the current key first (stop before any write if one value fails);
//   2. stage the new key in master.key.next (readers try it when master.key fails);
//   3. per profile, rewrite every value in one transaction and check it opens with the new key;
//   4. back up master.key as master.key.bak-<time>, move the new key into place;
//   5. re-read every value with the key from disk; only then delete the backup.
// For its whole run it holds a rekey lease on every profile and first waits for every refresh in
// flight: a refresh that spent its token must store the new pair under the key it opened the
// record with, before any record is re-sealed (refresh-lease.ts, issue 13).
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { AuthsomeError, toRecordTimestamp } from '../util/index.ts';
import { openValue, sealValue, generateKey, writeKeyFile, readKeyFile, decodeKey, parseKey, type KeyRing } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { newLeaseHolder } from './lease-holder.ts';
import { excludeRefreshes, type RefreshInFlight } from './refresh-lease.ts';
import { pendingRescues } from './refresh-rescue.ts';

export interface RekeyOptions {
  /** Required when the key comes from AUTHSOME_MASTER_KEY: the key to move to (AUTHSOME_NEW_MASTER_KEY). */
  newKey?: Buffer;
  /** The same as base64 (AUTHSOME_NEW_MASTER_KEY). */
  newKeyBase64?: string;
  /** Told once when rekey waits for refreshes in flight to finish. */
  onWait?: (inFlight: RefreshInFlight[]) => void;
}

export interface RekeyResult {
  source: string;
  profiles: string[];
  records: number;
  /** Kept only when the final check failed. */
  backup: string | null;
}

export async function rekey(ctx: BrokerContext, options: RekeyOptions = {}): Promise<RekeyResult> {
  const { vault, home } = ctx;
  if (options.newKeyBase64) options = { ...options, newKey: decodeKey(options.newKeyBase64, 'AUTHSOME_NEW_MASTER_KEY') };
  const keyRing = await vault.keyRing(false);
  if (!keyRing) {
    throw new AuthsomeError('master_key_missing', 'there is no master key to replace yet', { hint: 'Run `authsome init` first.' });
  }
  if (keyRing.source === 'environment' && !options.newKey) {
    throw new AuthsomeError('input_required', 'the master key comes from AUTHSOME_MASTER_KEY, so the new key must come from the environment too', {
      hint: 'Set AUTHSOME_NEW_MASTER_KEY to the new base64 key, run `authsome rekey`, then switch AUTHSOME_MASTER_KEY to it.',
    });
  }
  if (vault.backend().kind === 'postgres' && !options.newKey) {
    throw new AuthsomeError('input_required', 'the store is shared with other machines, so the new key must be one you can hand to each of them', {
      hint: 'Set AUTHSOME_NEW_MASTER_KEY to a new base64 key (openssl rand -base64 32), run `authsome rekey`, then give every machine that key.',
    });
  }
  if (keyRing.source === 'passphrase' || keyRing.source === 'keyring') {
    throw new AuthsomeError('flow_unsupported', `rekey does not support the ${keyRing.source} key source yet`, {
      hint: 'Export with `authsome export --format json`, re-initialize a new home, and log in again.',
    });
  }

  // A rescue file is sealed with the current key: its tokens go to the store before the key changes.
  const rescues = pendingRescues(home.root).map(({ path, key }) => ({ path, parsed: parseKey(key) }));
  if (rescues.length > 0) {
    const named = rescues.map(({ path, parsed }) => (parsed ? `${parsed.provider} (${parsed.connection}${parsed.profile === 'default' ? '' : `, profile ${parsed.profile}`})` : path));
    const first = rescues[0]!.parsed;
    throw new AuthsomeError('conflict', `renewed tokens of ${named.join(', ')} wait in a rescue file, not yet in the store; rekey changed nothing`, {
      hint: `Access each once, which writes them to the store${first ? ` (authsome get ${first.provider}${first.connection === 'default' ? '' : ` --connection ${first.connection}`}${first.profile === 'default' ? '' : ` --profile ${first.profile}`})` : ''}, then run \`authsome rekey\` again.`,
    });
  }

  // No refresh may spend a token while records are re-sealed: take every profile, wait for those in flight.
  const profiles = await vault.profiles();
  const exclusion = await excludeRefreshes(profiles.map((profile) => ({ profile, store: vault.store(profile, true) })), newLeaseHolder(), options.onWait ?? (() => {}));
  try {
    return await rekeyExcluded(ctx, keyRing, profiles, options, exclusion.renew);
  } finally {
    await exclusion.release();
  }
}

async function rekeyExcluded(ctx: BrokerContext, keyRing: KeyRing, profiles: string[], options: RekeyOptions, renew: () => Promise<void>): Promise<RekeyResult> {
  const { vault, home } = ctx;
  // A refresh that finished while we waited may have moved master.key's ring (another process's rekey cannot: we hold the leases).
  await vault.confirmKeyRing();
  keyRing = (await vault.keyRing(false)) ?? keyRing;
  // 1. Everything must open before anything is written.
  const plaintexts = new Map<string, Map<string, string>>();
  let records = 0;
  for (const profile of profiles) {
    const rows = new Map<string, string>();
    for (const { key, value } of await vault.store(profile).list('')) {
      rows.set(key, await vault.decrypt(key, value).catch((error: AuthsomeError) => {
        throw new AuthsomeError(error.code, `rekey stopped before changing anything: ${error.message}`, { hint: error.hint });
      }));
    }
    plaintexts.set(profile, rows);
    records += rows.size;
  }

  // 2. Stage the new key where readers will find it if we are interrupted.
  // An interrupted rekey left its key staged: reuse it, since some records may already be sealed with it.
  const staged = keyRing.source === 'local_key';
  const newKey = options.newKey ?? (staged ? keyRing.fallbacks[0] : undefined) ?? generateKey();
  if (staged && !existsSync(home.pendingMasterKeyFile)) writeKeyFile(home.pendingMasterKeyFile, newKey);

  // 3. Rewrite each profile in one transaction, checking every value opens with the new key. The
  //    values are read again inside it: a refresh (here, or on another machine sharing the store)
  //    may have written since step 1, and re-sealing that older snapshot would undo it.
  for (const [profile, rows] of plaintexts) {
    await renew();
    await vault.store(profile, true).transaction(async (tx) => {
      rows.clear();
      for (const { key, value } of await tx.list('')) rows.set(key, await vault.decrypt(key, value));
      for (const [key, plaintext] of rows) await tx.put(key, sealValue(newKey, plaintext));
      for (const [key, plaintext] of rows) {
        const stored = await tx.get(key);
        if (stored === undefined || openValue(newKey, stored) !== plaintext) {
          throw new AuthsomeError('store_unavailable', `rekey check failed for ${key}; the transaction was rolled back`);
        }
      }
    });
  }

  let backup: string | null = null;
  const newRing: KeyRing = { primary: newKey, fallbacks: [], source: keyRing.source };
  if (staged) {
    // 4. Keep the old key until the rewrite is verified from disk.
    backup = `${home.masterKeyFile}.bak-${toRecordTimestamp().replace(/[:.]/g, '')}`;
    if (existsSync(home.masterKeyFile)) copyFileSync(home.masterKeyFile, backup);
    renameSync(home.pendingMasterKeyFile, home.masterKeyFile);
    // 5. Verify with the key as it is now on disk.
    const onDisk = readKeyFile(home.masterKeyFile);
    for (const [profile, rows] of plaintexts) {
      for (const { key, value } of await vault.store(profile).list('')) {
        if (openValue(onDisk, value) !== rows.get(key)) {
          throw new AuthsomeError('store_unavailable', `rekey verification failed for ${key}; the old key is kept at ${backup}`, {
            hint: 'Run `authsome doctor`, and keep the backup until it reports the store healthy.',
          });
        }
      }
    }
    rmSync(backup, { force: true });
    backup = null;
  }
  vault.useKeyRing(newRing);
  // The list memo is sealed with the old key (a key rotated because it leaked must seal nothing
  // left behind); the next list rebuilds it under the new one.
  rmSync(home.cacheDir, { recursive: true, force: true });
  ctx.auditEvent('rekey', { profiles, records, source: keyRing.source, status: 'success' });
  return { source: keyRing.source, profiles, records, backup };
}
