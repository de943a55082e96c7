// The Vault: typed, encrypted records on top of a Store, one store per profile. It decrypts with
// the key ring, reports every secret it reads or writes (so the caller can register it with the
// redactor), and never writes over data it could not read.
import { existsSync } from 'node:fs';
import { AuthsomeError, VERSION } from '../util/index.ts';
import { createBackend } from './backend.ts';
import { urlPassword } from './pg-pool.ts';
import { looksLikeSealedValue, openValue, sealValue } from './codec.ts';
import { Home, type HomeConfig } from './home.ts';
import { parseKey, type ParsedKey, type RecordKind } from './keys.ts';
import { loadKeyRing, readKeyFile, type KeyRing, type KeySecrets } from './master-key.ts';
import { ProjectionMemo, type MemoEntry, type Projection } from './projection-memo.ts';
import { parseRecord, serializeRecord, type RecordByKind } from './records.ts';
import { fingerprintOf, type Store, type StoreBackend, type StoreWriter } from './store.ts';

export interface VaultOptions {
  home: string;
  secrets: KeySecrets;
  /** AUTHSOME_STORE_URL: overrides config.json's store_url; undefined means the config decides. */
  storeUrl?: string | undefined;
  /** Called with every secret value a record carries, as it is read or written. */
  onSecret?: (value: string) => void;
}

export interface ListedRecord {
  key: string;
  parsed: ParsedKey;
  record: RecordByKind[RecordKind];
}

/** A record as a Projection kept it. */
export interface ProjectedRecord {
  key: string;
  parsed: ParsedKey;
  projected: Record<string, unknown>;
}

/** Past this many changed values, one read of the whole prefix beats reading each. */
const READ_EACH_UP_TO = 64;

export interface RecordProblem {
  key: string;
  error: AuthsomeError;
}

export interface VaultTransaction {
  read<K extends RecordKind>(kind: K, key: string): Promise<RecordByKind[K] | null>;
  write<K extends RecordKind>(kind: K, key: string, record: RecordByKind[K]): Promise<void>;
  delete(key: string): Promise<boolean>;
  keys(prefix: string): Promise<string[]>;
}

export class Vault {
  readonly home: Home;
  readonly #secrets: KeySecrets;
  readonly #onSecret: (value: string) => void;
  readonly #storeUrl: string | undefined;
  #backend: StoreBackend | null = null;
  #keyRing: KeyRing | null = null;
  #keyChecked = false;

  constructor(options: VaultOptions) {
    this.home = new Home(options.home);
    this.#secrets = options.secrets;
    this.#storeUrl = options.storeUrl;
    this.#onSecret = options.onSecret ?? (() => {});
  }

  /** The key ring; with create, a first key is made (only where no encrypted record exists). */
  async keyRing(create = false): Promise<KeyRing | null> {
    if (this.#keyRing) return this.#keyRing;
    this.home.checkVersion();
    if (create) this.home.ensureLayout();
    const config = this.home.readConfig();
    this.#keyRing = await loadKeyRing(this.home, config, this.#secrets, {
      create,
      countEncryptedRecords: () => this.countRecords(),
    });
    return this.#keyRing;
  }

  /**
   * Makes sure the key ring is the home's key as it is on disk now: `rekey` in another process may
   * have moved master.key (or staged master.key.next) since this one loaded it — a daemon, a long
   * `run`, a refresh that waited for the rekey. A ring older than the files is loaded again, so no
   * write seals with a key that is about to be deleted. Only the local_key source can change under
   * a running process (AUTHSOME_MASTER_KEY is fixed for its life); the others are left as they are.
   */
  async confirmKeyRing(): Promise<void> {
    const ring = this.#keyRing;
    if (!ring || ring.source !== 'local_key') return;
    // A key file that is gone (a home deleted under us) is no reason to load anything: the write fails on its own.
    if (!existsSync(this.home.masterKeyFile)) return;
    const onDisk = readKeyFile(this.home.masterKeyFile);
    const staged = existsSync(this.home.pendingMasterKeyFile) ? readKeyFile(this.home.pendingMasterKeyFile) : null;
    if (onDisk.equals(ring.primary) && (staged === null || ring.fallbacks.some((key) => key.equals(staged)))) return;
    this.#keyRing = null;
    this.#keyChecked = false;
    await this.keyRing(false);
  }

  /** A record sealed as the store would hold it (the refresh's rescue file keeps one outside the store). */
  async sealRecord<K extends RecordKind>(kind: K, record: RecordByKind[K]): Promise<string> {
    return this.#seal(kind, record);
  }

  /** Opens a value sealed by sealRecord; `key` names it in errors. */
  async openRecord<K extends RecordKind>(kind: K, key: string, value: string): Promise<RecordByKind[K] | null> {
    return this.#decode(kind, key, value);
  }

  /** Replaces the key ring after a rekey. */
  useKeyRing(keyRing: KeyRing): void {
    this.#keyRing = keyRing;
    this.#keyChecked = true;
  }

  /** Where records live: SQLite files under the home, or the shared PostgreSQL database. */
  backend(): StoreBackend {
    if (this.#backend) return this.#backend;
    this.home.checkVersion();
    const [url, source] = this.#storeUrl !== undefined
      ? [this.#storeUrl, 'AUTHSOME_STORE_URL']
      : [storeUrlOf(this.home.readConfig()), `${this.home.configFile} store_url`];
    // A password in the URL is a secret like any other: every log must redact it.
    const password = url ? urlPassword(url) : '';
    if (password) this.#onSecret(password);
    this.#backend = createBackend(this.home, url, source);
    return this.#backend;
  }

  store(profile: string, create = false): Store {
    if (create) this.home.ensureProfile(profile);
    else this.home.checkVersion();
    return this.backend().open(profile, create);
  }

  /** Profiles with a folder in this home or with records in the store (a shared one has other machines' too). */
  async profiles(): Promise<string[]> {
    const names = new Set([...this.home.listProfiles(), ...(await this.backend().profiles())]);
    return [...names].sort();
  }

  async read<K extends RecordKind>(profile: string, kind: K, key: string): Promise<RecordByKind[K] | null> {
    const value = await this.store(profile).get(key);
    return value === undefined ? null : this.#decode(kind, key, value);
  }

  /** Every record under prefix, decoded; damaged ones are reported beside, never dropped silently. */
  async list(profile: string, prefix: string): Promise<{ records: ListedRecord[]; problems: RecordProblem[] }> {
    const entries = await this.store(profile).list(prefix);
    const records: ListedRecord[] = [];
    const problems: RecordProblem[] = [];
    for (const { key, value } of entries) {
      const parsed = parseKey(key);
      if (!parsed) continue;
      try {
        const record = await this.#decode(parsed.kind, key, value);
        if (record) records.push({ key, parsed, record });
      } catch (error) {
        problems.push(recordProblem(key, error));
      }
    }
    throwIfKeyMismatch(records.length, problems);
    return { records, problems };
  }

  /**
   * Every record under prefix as `projection` keeps it, opening only the values whose fingerprint
   * changed since the last call (projection-memo.ts); the same records, problems and key errors
   * as list(). Values opened from the memo register no secret: none was read.
   */
  async listProjected(profile: string, prefix: string, projection: Projection): Promise<{ records: ProjectedRecord[]; problems: RecordProblem[] }> {
    const store = this.store(profile);
    const fingerprints = await store.fingerprints(prefix);
    const keyRing = fingerprints.length > 0 ? await this.keyRing(false) : null;
    const memo = new ProjectionMemo(this.home, profile, projection, VERSION);
    const remembered = keyRing ? memo.read(keyRing.primary, prefix) : null;
    // Each key parsed once, and matched to its memo entry (-1: opened below). The memo is in the
    // store's key order, so entry i is looked for first where the previous match leaves off.
    const parsedKeys: Array<ParsedKey | null> = new Array(fingerprints.length);
    const matched = new Int32Array(fingerprints.length).fill(-1);
    const changed: string[] = [];
    let next = 0;
    let unchanged = 0;
    for (let i = 0; i < fingerprints.length; i++) {
      // Indexed, not destructured: unoptimized code (all of a one-off list) destructures an array
      // through an iterator, three objects a row.
      const row = fingerprints[i]!;
      const key = row[0];
      const fingerprint = row[1];
      const parsed = (parsedKeys[i] = parseKey(key));
      if (!parsed) continue;
      const at = remembered ? remembered.indexOf(key, next) : -1;
      if (at >= 0) next = at + 1;
      if (at >= 0 && remembered!.hasFingerprint(at, fingerprint)) {
        matched[i] = at;
        unchanged += 1;
      } else {
        changed.push(key);
      }
    }
    const values = new Map<string, string>();
    if (changed.length > READ_EACH_UP_TO) {
      for (const { key, value } of await store.list(prefix)) values.set(key, value);
    } else {
      for (const key of changed) {
        const value = await store.get(key);
        if (value !== undefined) values.set(key, value);
      }
    }

    // What to write back, gathered only when the memo no longer matches the store (see below):
    // nothing changed and nothing gone is the every-day list, and it makes no entry at all.
    const entries: MemoEntry[] | null = changed.length > 0 || unchanged !== (remembered?.size ?? 0) ? [] : null;
    const records: ProjectedRecord[] = [];
    const problems: RecordProblem[] = [];
    let opened = 0;
    for (let i = 0; i < fingerprints.length; i++) {
      const parsed = parsedKeys[i];
      if (!parsed) continue;
      const key = fingerprints[i]![0];
      let projected: Record<string, unknown> | null;
      let current = fingerprints[i]![1];
      if (matched[i]! >= 0) {
        projected = remembered!.projected(matched[i]!);
      } else {
        const value = values.get(key);
        if (value === undefined) continue; // removed since the fingerprints were read
        try {
          const record = await this.#decode(parsed.kind, key, value);
          projected = record ? projection.project(parsed.kind, record) : null;
          current = fingerprintOf(value);
          opened += 1;
        } catch (error) {
          problems.push(recordProblem(key, error));
          continue;
        }
      }
      entries?.push([key, current, projected]);
      if (projected) records.push({ key, parsed, projected });
    }
    throwIfKeyMismatch(records.length, problems);
    // Rewritten when it no longer matches the store: a value opened, or a record gone. Sealed with
    // the key as it is on disk now: a rekey in another process since this one loaded its key must
    // not find a memo under the old key appear after it cleared them.
    if (keyRing && entries && (opened > 0 || entries.length !== (remembered?.size ?? 0))) {
      await this.confirmKeyRing();
      if (this.#keyRing) memo.write(this.#keyRing.primary, prefix, entries);
    }
    return { records, problems };
  }

  async write<K extends RecordKind>(profile: string, kind: K, key: string, record: RecordByKind[K]): Promise<void> {
    const sealed = await this.#seal(kind, record);
    await this.store(profile, true).put(key, sealed);
  }

  async delete(profile: string, key: string): Promise<boolean> {
    return this.store(profile).delete(key);
  }

  /**
   * Reads and writes in one store transaction: all writes land together or none does.
   * `keyConfirmed`: the caller knows no rekey can have run since it last confirmed the key ring
   * (it holds a refresh lease), so master.key is not read again.
   */
  async transaction<T>(profile: string, fn: (tx: VaultTransaction) => Promise<T>, options: { keyConfirmed?: boolean } = {}): Promise<T> {
    // Checked before the transaction starts: the check reads stores, which a running transaction queues behind.
    if (!options.keyConfirmed) await this.confirmKeyRing();
    await this.#writableKeyRing();
    return this.store(profile, true).transaction((tx) => fn(this.#wrap(tx)));
  }

  /** Saves where records live (config.json's store_url; undefined means SQLite); the next operation opens it. */
  async saveStoreUrl(url: string | undefined): Promise<void> {
    this.home.ensureLayout();
    const { store_url: _previous, ...config } = this.home.readConfig();
    this.home.writeConfig((url === undefined ? config : { ...config, store_url: url }) as HomeConfig);
    await this.close();
  }

  /** Records in every profile (for the missing-key guard: never a new key over existing data). */
  countRecords(): Promise<number> {
    return this.backend().countRecords();
  }

  async close(): Promise<void> {
    const backend = this.#backend;
    this.#backend = null;
    await backend?.close();
  }

  /**
   * A wrong key must not start writing records beside ones it cannot read (a store of mixed keys
   * loses data either way): before the first write, one existing value must open with the key ring.
   */
  /**
   * Fails unless this process may write: a key ring exists and opens what the store holds. Callers
   * about to do something irreversible before their first write (a refresh spends the refresh
   * token at the provider) check here first, so the write that follows cannot be refused.
   */
  async assertWritable(): Promise<void> {
    await this.#writableKeyRing();
  }

  async #writableKeyRing(): Promise<KeyRing> {
    const keyRing = await this.keyRing(true);
    if (!keyRing) throw new AuthsomeError('master_key_unavailable', 'no master key is available to encrypt with');
    if (!this.#keyChecked) await this.#checkKeyBeforeFirstWrite(keyRing);
    return keyRing;
  }

  async #checkKeyBeforeFirstWrite(keyRing: KeyRing): Promise<void> {
    for (const profile of await this.profiles()) {
      // A few records, not the profile: this runs before a refresh's first write, on a single-connection path (issue 18).
      const store = this.store(profile);
      const first = await store.list('profile:', 8);
      const sample = (first.length < 8 || first.some((entry) => looksLikeSealedValue(entry.value)) ? first : await store.list('profile:'))
        .find((entry) => looksLikeSealedValue(entry.value));
      if (!sample) continue;
      if (![keyRing.primary, ...keyRing.fallbacks].some((key) => openValue(key, sample.value) !== null)) {
        throw new AuthsomeError('master_key_mismatch', `cannot decrypt ${sample.key}: the master key does not match this store; nothing was written`, {
          hint: 'Check AUTHSOME_MASTER_KEY, AUTHSOME_PASSPHRASE or master.key. Writing with another key would leave records no single key can read.',
        });
      }
      break;
    }
    this.#keyChecked = true;
  }

  #reportSecrets(record: Record<string, unknown>): void {
    for (const field of SECRET_FIELDS) {
      const value = record[field];
      if (typeof value === 'string' && value) this.#onSecret(value);
    }
    // The parts of a several-part credential (broker/api-key-parts.ts): which are secret is the
    // definition's to say, so every part is kept out of logs.
    const parts = record.api_key_fields;
    if (parts && typeof parts === 'object') for (const value of Object.values(parts)) if (typeof value === 'string' && value) this.#onSecret(value);
  }

  #wrap(tx: StoreWriter): VaultTransaction {
    return {
      read: async (kind, key) => {
        const value = await tx.get(key);
        return value === undefined ? null : this.#decode(kind, key, value);
      },
      write: async (kind, key, record) => tx.put(key, await this.#seal(kind, record)),
      delete: (key) => tx.delete(key),
      keys: async (prefix) => (await tx.list(prefix)).map((entry) => entry.key),
    };
  }

  async #seal<K extends RecordKind>(kind: K, record: RecordByKind[K]): Promise<string> {
    const keyRing = await this.#writableKeyRing();
    this.#reportSecrets(record);
    return sealValue(keyRing.primary, serializeRecord(kind, record));
  }

  async #decode<K extends RecordKind>(kind: K, key: string, value: string): Promise<RecordByKind[K] | null> {
    const plaintext = await this.decrypt(key, value);
    const record = parseRecord(kind, key, plaintext);
    if (record) this.#reportSecrets(record);
    return record;
  }

  /** Opens one stored value with the key ring; a value no key opens is a clear error, never a guess. */
  async decrypt(key: string, value: string): Promise<string> {
    // The full format check only when the cheap one fails or no key opens the value: a `list` of
    // 10,000 records spent as long matching the pattern as decrypting (issue 18).
    if (value.charCodeAt(16) !== 46 /* "." after the nonce */ && !looksLikeSealedValue(value)) {
      throw notSealed(key);
    }
    const keyRing = await this.keyRing(false);
    if (!keyRing) {
      if (!looksLikeSealedValue(value)) throw notSealed(key);
      throw new AuthsomeError('master_key_missing', `cannot decrypt ${key}: no master key was found in ${this.home.root}`, {
        hint: 'Restore master.key from a backup, or set AUTHSOME_MASTER_KEY. Nothing was changed.',
      });
    }
    for (const candidate of [keyRing.primary, ...keyRing.fallbacks]) {
      const plaintext = openValue(candidate, value);
      if (plaintext !== null) return plaintext;
    }
    if (!looksLikeSealedValue(value)) throw notSealed(key);
    throw new AuthsomeError('master_key_mismatch', `cannot decrypt ${key}: the master key does not match this store`, {
      hint: 'Check AUTHSOME_MASTER_KEY, AUTHSOME_PASSPHRASE or master.key (a restored backup of the wrong store?). Nothing was changed; `authsome doctor` checks every record.',
    });
  }
}

/** A record that did not open, to report beside the others; a key that is missing or unusable is thrown (every record fails the same way). */
function recordProblem(key: string, error: unknown): RecordProblem {
  if (!(error instanceof AuthsomeError) || error.code === 'master_key_unavailable' || error.code === 'master_key_missing') throw error;
  return { key, error };
}

/** No record opened and every failure is a key mismatch: the key is wrong, not the records. */
function throwIfKeyMismatch(opened: number, problems: RecordProblem[]): void {
  if (opened === 0 && problems.length > 0 && problems.every((p) => p.error.code === 'master_key_mismatch')) throw problems[0]!.error;
}

function notSealed(key: string): AuthsomeError {
  return new AuthsomeError('record_malformed', `the record ${key} is not an encrypted value; it was left as it is`, {
    hint: 'Run `authsome doctor` to list damaged records; log in again to replace this one (`authsome login <provider> --force`).',
  });
}

function storeUrlOf(config: HomeConfig): string | undefined {
  return typeof config['store_url'] === 'string' ? config['store_url'] : undefined;
}

const SECRET_FIELDS = ['access_token', 'refresh_token', 'api_key', 'client_secret'] as const;
