// The home folder (AUTHSOME_HOME, default ~/.authsome): its layout, the version marker,
// config.json and profile metadata, all in the Python implementation's formats. First writes are
// exclusive, so processes that start together on a fresh home agree on one config.json.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuthsomeError, createPrivateFile, ensurePrivateDir, indentedJson, toRecordTimestamp, writePrivateFile } from '../util/index.ts';
import { isValidName } from './keys.ts';

export const STORE_VERSION = 2;
export const DEFAULT_PROFILE = 'default';

export type KeySourceName = 'local_key' | 'keyring' | 'passphrase';

export interface HomeConfig {
  spec_version: number;
  default_profile: string;
  encryption: { mode: KeySourceName; [extra: string]: unknown };
  [extra: string]: unknown;
}

export interface ProfileMetadata {
  name: string;
  created_at: string;
  updated_at: string;
  description: string | null;
  [extra: string]: unknown;
}

export class Home {
  constructor(readonly root: string) {}

  get versionFile(): string { return join(this.root, 'version'); }
  get configFile(): string { return join(this.root, 'config.json'); }
  get masterKeyFile(): string { return join(this.root, 'master.key'); }
  /** A new key written by an unfinished `rekey`; readers try it when master.key fails. */
  get pendingMasterKeyFile(): string { return join(this.root, 'master.key.next'); }
  get auditLogFile(): string { return join(this.root, 'audit.log'); }
  get providersDir(): string { return join(this.root, 'providers'); }
  get profilesDir(): string { return join(this.root, 'profiles'); }
  get logsDir(): string { return join(this.root, 'logs'); }
  /** Memos authsome can rebuild from the store (projection-memo.ts); deleting it is always safe. */
  get cacheDir(): string { return join(this.root, 'cache'); }
  profileDir(profile: string): string { return join(this.profilesDir, profile); }
  storeFile(profile: string): string { return join(this.profileDir(profile), 'store.db'); }

  exists(): boolean {
    return existsSync(this.root);
  }

  /** Refuses a store written by a newer format, before anything reads or writes it. */
  checkVersion(): void {
    if (!existsSync(this.versionFile)) return;
    const text = readFileSync(this.versionFile, 'utf8').trim();
    const version = Number(text);
    if (!Number.isInteger(version) || version < 1) {
      throw new AuthsomeError('store_version_unsupported', `${this.versionFile} holds "${text.slice(0, 20)}", not a store version; nothing was changed`, {
        hint: `A store written by authsome holds "${STORE_VERSION}". Restore the file or check AUTHSOME_HOME.`,
      });
    }
    if (version > STORE_VERSION) {
      throw new AuthsomeError('store_version_unsupported', `the store at ${this.root} has format version ${version}; this authsome reads version ${STORE_VERSION}`, {
        hint: 'It was written by a newer authsome: upgrade authsome (npm install -g authsome@latest). Nothing was changed.',
      });
    }
  }

  /** Creates the layout on first use: folders 0700, files 0600. Never touches existing files. */
  ensureLayout(): void {
    ensurePrivateDir(this.root);
    this.checkVersion();
    if (!existsSync(this.versionFile)) createPrivateFile(this.versionFile, `${STORE_VERSION}\n`);
    if (!existsSync(this.configFile)) this.createConfig(defaultConfig());
    ensurePrivateDir(this.profilesDir);
    ensurePrivateDir(this.providersDir);
  }

  readConfig(): HomeConfig {
    if (!existsSync(this.configFile)) return defaultConfig();
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.configFile, 'utf8'));
    } catch (error) {
      throw new AuthsomeError('store_unavailable', `${this.configFile} is not valid JSON (${(error as Error).message}); nothing was changed`, {
        hint: 'Fix the file by hand; a default one reads {"spec_version": 1, "default_profile": "default", "encryption": {"mode": "local_key"}}.',
      });
    }
    const config = { ...defaultConfig(), ...(parsed as object) } as HomeConfig;
    const mode = config.encryption?.mode;
    if (mode !== 'local_key' && mode !== 'keyring' && mode !== 'passphrase') {
      throw new AuthsomeError('store_unavailable', `${this.configFile}: encryption.mode "${String(mode)}" is not one of local_key, keyring, passphrase`);
    }
    return config;
  }

  hasConfig(): boolean {
    return existsSync(this.configFile);
  }

  /**
   * Writes config.json only if there is none yet (the key source and a passphrase's salt live
   * there, so the first one written must be the one everybody uses). False: another process
   * wrote it first; read theirs.
   */
  createConfig(config: HomeConfig): boolean {
    ensurePrivateDir(this.root);
    return createPrivateFile(this.configFile, indentedJson(config));
  }

  /** Writes config.json as Python does (indent 2, no trailing newline), keeping unknown keys. */
  writeConfig(config: HomeConfig): void {
    ensurePrivateDir(this.root);
    writePrivateFile(this.configFile, indentedJson(config));
  }

  /** Profiles that exist on disk, sorted. */
  listProfiles(): string[] {
    if (!existsSync(this.profilesDir)) return [];
    return readdirSync(this.profilesDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isValidName(entry.name))
      .map((entry) => entry.name)
      .sort();
  }

  profileExists(profile: string): boolean {
    return existsSync(this.profileDir(profile));
  }

  readProfileMetadata(profile: string): ProfileMetadata | null {
    const file = join(this.profileDir(profile), 'metadata.json');
    if (!existsSync(file)) return null;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProfileMetadata;
    } catch {
      return null;
    }
  }

  /** Creates the profile folder, its metadata.json and its lock file, as the Python implementation does. */
  ensureProfile(profile: string, description: string | null = null): void {
    if (!isValidName(profile)) {
      throw new AuthsomeError('input_invalid', `"${profile}" is not a valid profile name`, { hint: 'Use letters, digits, ".", "_" or "-".' });
    }
    this.ensureLayout();
    const dir = this.profileDir(profile);
    ensurePrivateDir(dir);
    const metadataFile = join(dir, 'metadata.json');
    if (!existsSync(metadataFile)) {
      const now = toRecordTimestamp();
      const metadata: ProfileMetadata = {
        name: profile,
        created_at: now,
        updated_at: now,
        description: description ?? (profile === DEFAULT_PROFILE ? 'Default local profile' : null),
      };
      createPrivateFile(metadataFile, indentedJson(metadata));
    }
    const lockFile = join(dir, 'lock');
    if (!existsSync(lockFile)) createPrivateFile(lockFile, '');
  }
}

export function defaultConfig(): HomeConfig {
  return { spec_version: 1, default_profile: DEFAULT_PROFILE, encryption: { mode: 'local_key' } };
}
