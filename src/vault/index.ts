// vault: the home layout, master keys, the value codec, the Store interface and its SQLite
// (default) and PostgreSQL backends, record types, and the Vault that ties them together.
export { requireSafeHome, homeSafetyProblem } from './home-safety.ts';
export { Home, STORE_VERSION, DEFAULT_PROFILE, defaultConfig, type HomeConfig, type ProfileMetadata, type KeySourceName } from './home.ts';
export { sealValue, openValue, looksLikeSealedValue, KEY_BYTES } from './codec.ts';
export {
  loadKeyRing, decodeKey, generateKey, writeKeyFile, readKeyFile, passphraseEncryption, storeInKeyring, checkKeyring, describeKeySource,
  type KeyRing, type KeySource, type KeySecrets,
} from './master-key.ts';
export { keys, parseKey, isValidName, type ParsedKey, type RecordKind } from './keys.ts';
export {
  orderRecord, serializeRecord, parseRecord, SCHEMA_VERSION,
  type ConnectionRecord, type ProviderMetadataRecord, type ClientRecord, type ProviderStateRecord, type RecordByKind,
  type StoredStatus, type AuthType, type Account,
} from './records.ts';
export { FEED_LOST, RESYNC, type LeaseInfo, type Store, type StoreBackend, type StoreChange, type StoreEntry, type StoreFingerprint, type StoreProbe, type StoreReader, type StoreWriter } from './store.ts';
export { SqliteStore } from './sqlite-store.ts';
export { SqliteBackend } from './sqlite-backend.ts';
export { PgStore } from './pg-store.ts';
export { PgBackend } from './pg-backend.ts';
export { redactUrl, urlPassword } from './pg-pool.ts';
export { createBackend, parseStoreUrl, isPostgresUrl } from './backend.ts';
export { Vault, type VaultOptions, type VaultTransaction, type ListedRecord, type ProjectedRecord, type RecordProblem } from './vault.ts';
export type { Projection } from './projection-memo.ts';
