// `authsome migrate --to <postgres://…|sqlite>`: moves every profile's records between the
// embedded SQLite files and a shared PostgreSQL database. Values move still sealed (the target
// never sees plaintext); every one must open with the key ring before anything is copied, and
// every copied one is read back and opened again before the home switches to the target.
import { existsSync, renameSync } from 'node:fs';
import { AuthsomeError, toRecordTimestamp } from '../util/index.ts';
import { createBackend, looksLikeSealedValue, parseStoreUrl, redactUrl, type StoreBackend, type StoreEntry } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';

export interface MigrationOptions {
  /** Overwrite records the target already holds for these profiles. */
  replace?: boolean;
  /**
   * Runs once the target is known to be valid, before the records are read: the CLI stops the
   * daemon there, which would otherwise keep the old store open and refresh into it.
   */
  beforeSnapshot?: () => Promise<void>;
}

export interface MigrationResult {
  from: { backend: string; location: string };
  to: { backend: string; location: string };
  profiles: Array<{ profile: string; records: number }>;
  records: number;
  /** Every copied value was read back from the target and opened with the key ring. */
  verified: true;
  /** What happened to the source: SQLite files are moved aside, a shared database is left as it is. */
  source: string;
  /** When AUTHSOME_STORE_URL is set it, not config.json, decides where this machine's records live. */
  note: string | null;
}

export async function migrateStore(ctx: BrokerContext, target: string, options: MigrationOptions = {}): Promise<MigrationResult> {
  const { vault, home } = ctx;
  const parsedTarget = parseStoreUrl(target, '--to');
  const source = vault.backend();
  const targetUrl = parsedTarget.kind === 'postgres' ? parsedTarget.url : 'sqlite';
  if (parsedTarget.kind === source.kind && (parsedTarget.kind === 'sqlite' || redactUrl(parsedTarget.url) === source.location)) {
    throw new AuthsomeError('usage', `the records already live in ${source.location}`, { hint: 'Name the other store: --to postgres://… or --to sqlite.' });
  }

  await options.beforeSnapshot?.();

  // 1. Read and open everything first: a record no key opens stops the migration before any write.
  const keyRing = await vault.keyRing(false);
  const snapshot = new Map<string, { entries: StoreEntry[]; plaintexts: string[] }>();
  for (const profile of await source.profiles()) {
    const entries = await vault.store(profile).list('');
    if (entries.length === 0) continue;
    if (!keyRing) {
      throw new AuthsomeError('master_key_missing', 'the store holds records but no master key is available to check them; nothing was copied', {
        hint: 'Set AUTHSOME_MASTER_KEY (or restore master.key) and run the migration again.',
      });
    }
    const plaintexts: string[] = [];
    for (const { key, value } of entries) {
      plaintexts.push(await vault.decrypt(key, value).catch((error: AuthsomeError) => {
        throw new AuthsomeError(error.code, `migrate stopped before copying anything: ${error.message}`, { hint: error.hint });
      }));
    }
    snapshot.set(profile, { entries, plaintexts });
  }

  const destination = createBackend(home, targetUrl, '--to');
  try {
    // 2. A target that already holds records (a fleet's database) must be sealed with this key:
    //    records under two keys would leave every machine unable to write.
    await requireSameKey(ctx, destination);
    // The target must not already hold other data for these profiles (unless --replace).
    for (const [profile, { entries }] of snapshot) {
      if (parsedTarget.kind === 'sqlite') home.ensureProfile(profile);
      const existing = await destination.open(profile, false).list('');
      const ours = new Map(entries.map((entry) => [entry.key, entry.value]));
      const conflicting = existing.filter((entry) => ours.get(entry.key) !== entry.value);
      if (conflicting.length > 0 && !options.replace) {
        throw new AuthsomeError('conflict', `${destination.location} already holds ${conflicting.length} other record${conflicting.length === 1 ? '' : 's'} for profile "${profile}"; nothing was copied`, {
          hint: 'Pass --replace to overwrite them with this store\'s records (records only the target holds are removed too).',
        });
      }
    }

    // 3. Copy each profile in one transaction, then read every value back and open it again.
    const profiles: MigrationResult['profiles'] = [];
    for (const [profile, { entries, plaintexts }] of snapshot) {
      const store = destination.open(profile, true);
      await store.transaction(async (tx) => {
        for (const { key } of await tx.list('')) if (!entries.some((entry) => entry.key === key)) await tx.delete(key);
        for (const { key, value } of entries) await tx.put(key, value);
      });
      const copied = await store.list('');
      if (copied.length !== entries.length) {
        throw new AuthsomeError('store_unavailable', `verification failed for profile "${profile}": ${entries.length} records read, ${copied.length} found in ${destination.location}; the home still uses ${source.location}`);
      }
      for (const [index, { key, value }] of copied.entries()) {
        const plaintext = await vault.decrypt(key, value);
        if (key !== entries[index]!.key || plaintext !== plaintexts[index]) {
          throw new AuthsomeError('store_unavailable', `verification failed for ${key} in ${destination.location}; the home still uses ${source.location}`);
        }
      }
      profiles.push({ profile, records: copied.length });
    }

    // 4. Switch the home over, then put the old SQLite files aside (kept, never deleted).
    await vault.saveStoreUrl(parsedTarget.kind === 'postgres' ? parsedTarget.url : undefined);
    const sourceNote = source.kind === 'sqlite' ? moveSqliteAside(ctx, [...snapshot.keys()]) : `left as it is in ${source.location} (other machines may still use it)`;
    const records = profiles.reduce((n, p) => n + p.records, 0);
    ctx.auditEvent('migrate', { from: source.kind, to: parsedTarget.kind, profiles: profiles.length, records, status: 'success' });
    return {
      from: { backend: source.kind, location: source.location },
      to: { backend: destination.kind, location: destination.location },
      profiles,
      records,
      verified: true,
      source: sourceNote,
      note: ctx.settings.storeUrl !== undefined
        ? `AUTHSOME_STORE_URL is set in this environment and overrides config.json: set it to ${parsedTarget.kind === 'postgres' ? redactUrl(parsedTarget.url) : 'sqlite'} (or unset it).`
        : null,
    };
  } finally {
    await destination.close();
  }
}

async function requireSameKey(ctx: BrokerContext, destination: StoreBackend): Promise<void> {
  for (const profile of await destination.profiles()) {
    const sample = (await destination.open(profile, false).list('profile:')).find((entry) => looksLikeSealedValue(entry.value));
    if (!sample) continue;
    try {
      await ctx.vault.decrypt(sample.key, sample.value);
    } catch (error) {
      if (error instanceof AuthsomeError && (error.code === 'master_key_mismatch' || error.code === 'master_key_missing')) {
        throw new AuthsomeError('master_key_mismatch', `${destination.location} holds records sealed with another master key (${sample.key}); nothing was copied`, {
          hint: 'Every machine sharing a store needs the same master key: set AUTHSOME_MASTER_KEY to the fleet\'s key (then `authsome rekey` this home to it first if its records use another), and migrate again.',
        });
      }
      throw error;
    }
    return;
  }
}

/** Renames each migrated profile's store.db (and its WAL files) so no one reads stale copies. */
function moveSqliteAside(ctx: BrokerContext, profiles: string[]): string {
  const suffix = `.migrated-${toRecordTimestamp().replace(/[:.]/g, '-')}`;
  const moved: string[] = [];
  for (const profile of profiles) {
    const file = ctx.home.storeFile(profile);
    for (const path of [file, `${file}-wal`, `${file}-shm`]) {
      if (existsSync(path)) renameSync(path, path + suffix);
    }
    moved.push(file + suffix);
  }
  return moved.length ? `kept as ${moved.join(', ')}` : 'nothing to keep';
}
