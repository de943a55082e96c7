// Master key sources (store-format.md): AUTHSOME_MASTER_KEY (environment, overrides all),
// local_key (master.key, default), passphrase (scrypt, parameters in config.json), keyring.
// A missing key is created only when no encrypted record exists: never a new key over old data;
// and created exclusively: of processes that start together on a fresh home, one key wins.
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { AuthsomeError, createPrivateFile, indentedJson, writePrivateFile } from '../util/index.ts';
import { KEY_BYTES, openValue, sealValue } from './codec.ts';
import type { Home, HomeConfig, KeySourceName } from './home.ts';

export type KeySource = KeySourceName | 'environment';

export interface KeyRing {
  /** The key new values are sealed with. */
  readonly primary: Buffer;
  /** Keys tried after the primary one (the new key of an interrupted rekey). */
  readonly fallbacks: readonly Buffer[];
  readonly source: KeySource;
}

export interface KeySecrets {
  masterKey: string | undefined;
  passphrase: string | undefined;
}

export interface LoadKeyOptions {
  /** Create a key when none exists (writes). */
  create: boolean;
  /** How many encrypted records the home holds; asked only when the key is missing. */
  countEncryptedRecords: () => Promise<number>;
}

const KEY_NOTE = 'Local master key for authsome. Protect this file.';
const KEY_CHECK = 'authsome-key-check';
export const SCRYPT_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;

export async function loadKeyRing(home: Home, config: HomeConfig, secrets: KeySecrets, options: LoadKeyOptions): Promise<KeyRing | null> {
  const pending = readKeyFileIfPresent(home.pendingMasterKeyFile);
  const fallbacks = pending ? [pending] : [];
  if (secrets.masterKey) return { primary: decodeKey(secrets.masterKey, 'AUTHSOME_MASTER_KEY'), fallbacks, source: 'environment' };
  switch (config.encryption.mode) {
    case 'passphrase':
      return { primary: await passphraseKey(home, config, secrets.passphrase), fallbacks, source: 'passphrase' };
    case 'keyring': {
      const key = await keyringKey(options);
      return key ? { primary: key, fallbacks, source: 'keyring' } : null;
    }
    default: {
      const key = await localKey(home, options);
      return key ? { primary: key, fallbacks, source: 'local_key' } : null;
    }
  }
}

export function decodeKey(base64: string, where: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/]+=*$/.test(base64.trim())) {
    throw new AuthsomeError('master_key_unavailable', `${where} must be the base64 of ${KEY_BYTES} bytes (it decodes to ${key.length})`, {
      hint: 'Generate one with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64\'))"',
    });
  }
  return key;
}

export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** master.key in the Python layout: indent 2, no trailing newline, mode 0600. */
export function writeKeyFile(path: string, key: Buffer): void {
  writePrivateFile(path, keyFileText(key));
}

/**
 * Creates master.key unless one exists, and returns the key in it: ours, or the one another
 * process created first (written whole before it appeared, so it can be read at once).
 */
export function createKeyFile(path: string, key: Buffer): Buffer {
  return createPrivateFile(path, keyFileText(key)) ? key : readKeyFile(path);
}

function keyFileText(key: Buffer): string {
  return indentedJson({ version: 1, key: key.toString('base64'), algorithm: 'AES-256-GCM', note: KEY_NOTE });
}

export function readKeyFile(path: string): Buffer {
  let parsed: { key?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AuthsomeError('master_key_unavailable', `${path} is not a readable master key file (${(error as Error).message}); nothing was changed`, {
      hint: 'Restore master.key from a backup, or set AUTHSOME_MASTER_KEY to the key.',
    });
  }
  if (typeof parsed?.key !== 'string') throw new AuthsomeError('master_key_unavailable', `${path} has no "key" field`, { hint: 'Restore master.key from a backup.' });
  return decodeKey(parsed.key, path);
}

function readKeyFileIfPresent(path: string): Buffer | null {
  return existsSync(path) ? readKeyFile(path) : null;
}

async function localKey(home: Home, options: LoadKeyOptions): Promise<Buffer | null> {
  if (existsSync(home.masterKeyFile)) return readKeyFile(home.masterKeyFile);
  const records = await options.countEncryptedRecords();
  // Records that appeared since the first look were sealed by a process that created the key meanwhile.
  if (records > 0 && existsSync(home.masterKeyFile)) return readKeyFile(home.masterKeyFile);
  if (records > 0) {
    throw new AuthsomeError('master_key_missing', `${home.masterKeyFile} is missing, but the store holds ${records} encrypted record${records === 1 ? '' : 's'}; refusing to create a new key over them`, {
      hint: 'Restore master.key from a backup (or set AUTHSOME_MASTER_KEY to the key). Nothing was changed.',
    });
  }
  if (!options.create) return null;
  return createKeyFile(home.masterKeyFile, generateKey());
}

export interface ScryptParams {
  name: 'scrypt';
  salt: string;
  N: number;
  r: number;
  p: number;
}

export function deriveKey(passphrase: string, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase.normalize('NFC'), Buffer.from(params.salt, 'base64'), KEY_BYTES,
      // maxmem must exceed 128·N·r or Node refuses (stack.md gotcha 16).
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Builds the config.json encryption block for a passphrase: fresh salt and a check value that detects a wrong passphrase. */
export async function passphraseEncryption(passphrase: string): Promise<{ config: HomeConfig['encryption']; key: Buffer }> {
  const kdf: ScryptParams = { name: 'scrypt', salt: randomBytes(16).toString('base64'), ...SCRYPT_DEFAULTS };
  const key = await deriveKey(passphrase, kdf);
  return { config: { mode: 'passphrase', kdf, check: sealValue(key, KEY_CHECK) }, key };
}

async function passphraseKey(home: Home, config: HomeConfig, passphrase: string | undefined): Promise<Buffer> {
  if (!passphrase) {
    throw new AuthsomeError('master_key_unavailable', 'this store is encrypted with a passphrase, and AUTHSOME_PASSPHRASE is not set', {
      hint: 'Set AUTHSOME_PASSPHRASE (for example read it with `read -rs AUTHSOME_PASSPHRASE; export AUTHSOME_PASSPHRASE`).',
    });
  }
  const kdf = config.encryption.kdf as ScryptParams | undefined;
  if (!kdf || kdf.name !== 'scrypt' || typeof kdf.salt !== 'string') {
    throw new AuthsomeError('master_key_unavailable', `${home.configFile}: encryption.kdf is missing or not scrypt parameters`);
  }
  const key = await deriveKey(passphrase, kdf);
  const check = config.encryption.check;
  if (typeof check === 'string' && openValue(key, check) !== KEY_CHECK) {
    throw new AuthsomeError('master_key_mismatch', 'the passphrase does not match this store (AUTHSOME_PASSPHRASE)', {
      hint: 'Check AUTHSOME_PASSPHRASE. Nothing was changed.',
    });
  }
  return key;
}

const KEYRING_SERVICE = 'authsome';
const KEYRING_ACCOUNT = 'master_key';

async function keyringKey(options: LoadKeyOptions): Promise<Buffer | null> {
  const entry = await keyringEntry();
  let stored: string | null | undefined;
  try {
    stored = entry.getPassword();
  } catch (error) {
    throw keyringError(error);
  }
  if (stored) return decodeKey(stored, 'the keyring entry authsome/master_key');
  const records = await options.countEncryptedRecords();
  if (records > 0) {
    throw new AuthsomeError('master_key_missing', `the keyring has no authsome master key, but the store holds ${records} encrypted records; refusing to create a new key over them`, {
      hint: 'Unlock or restore the keyring that holds it, or set AUTHSOME_MASTER_KEY.',
    });
  }
  if (!options.create) return null;
  const key = generateKey();
  await storeInKeyring(key);
  return key;
}

/** Fails unless the OS keyring can be read here; never writes (an entry there may be another home's key). */
export async function checkKeyring(): Promise<void> {
  const entry = await keyringEntry();
  try {
    entry.getPassword();
  } catch (error) {
    throw keyringError(error);
  }
}

export async function storeInKeyring(key: Buffer): Promise<void> {
  const entry = await keyringEntry();
  try {
    entry.setPassword(key.toString('base64'));
  } catch (error) {
    throw keyringError(error);
  }
}

interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(value: string): void;
}

async function keyringEntry(): Promise<KeyringEntry> {
  try {
    const { Entry } = (await import('@napi-rs/keyring')) as { Entry: new (service: string, account: string) => KeyringEntry };
    return new Entry(KEYRING_SERVICE, KEYRING_ACCOUNT);
  } catch (error) {
    throw keyringError(error);
  }
}

function keyringError(error: unknown): AuthsomeError {
  return new AuthsomeError('master_key_unavailable', `the OS keyring is not available here (${(error as Error)?.message ?? error})`, {
    hint: 'On headless machines use the local_key source (`authsome init --key-source local_key`) or set AUTHSOME_MASTER_KEY.',
    cause: error,
  });
}

export function describeKeySource(source: KeySource): string {
  return source === 'environment' ? 'AUTHSOME_MASTER_KEY' : source;
}

export { type KeySourceName };
