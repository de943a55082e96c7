// Moves a stored connection's expires_at into the past, the way time would: the refresh tests'
// way to make a token due without waiting out an hour-long lifetime.
import { Vault, keys } from '../../src/vault/index.ts';
import { toRecordTimestamp } from '../../src/util/index.ts';

/** Where the records are when they are not in the home's SQLite files: a shared store and its key. */
export interface StoreAccess {
  storeUrl?: string;
  masterKey?: string;
}

/** `remainingMs` < 0: expired; a small positive value: inside the refresh window but still valid. */
export async function makeDue(home: string, provider: string, connection = 'default', profile = 'default', remainingMs = -1000, access: StoreAccess = {}): Promise<void> {
  await shiftToken(home, provider, connection, profile, access, (lifetime) => Date.now() + remainingMs - lifetime);
}

/**
 * Moves a connection's obtained_at `ageMs` into the past, and its expires_at with it (the token keeps
 * its lifetime): a token that has been in use for a while, still valid and not due. The proxy does
 * not refresh a token younger than a minute on a 401.
 */
export async function makeOld(home: string, provider: string, ageMs = 600_000, connection = 'default', profile = 'default', access: StoreAccess = {}): Promise<void> {
  await shiftToken(home, provider, connection, profile, access, () => Date.now() - ageMs);
}

/** Moves both ends of a stored token, as the passing of time would: it keeps its lifetime. */
async function shiftToken(home: string, provider: string, connection: string, profile: string, access: StoreAccess, obtainedAt: (lifetimeMs: number) => number): Promise<void> {
  const vault = new Vault({ home, secrets: { masterKey: access.masterKey, passphrase: undefined }, storeUrl: access.storeUrl });
  try {
    const key = keys.connection(profile, provider, connection);
    await vault.transaction(profile, async (tx) => {
      const record = await tx.read('connection', key);
      if (!record) throw new Error(`no record at ${key}`);
      const lifetime = Date.parse(record.expires_at!) - Date.parse(record.obtained_at!);
      const obtained = obtainedAt(lifetime);
      await tx.write('connection', key, { ...record, obtained_at: toRecordTimestamp(new Date(obtained)), expires_at: toRecordTimestamp(new Date(obtained + lifetime)) });
    });
  } finally {
    await vault.close();
  }
}

/** Stores a connection record as a login would have (the tests of provider quirks start from one). */
export async function seedConnection(home: string, record: Record<string, unknown>, profile = 'default'): Promise<void> {
  const vault = new Vault({ home, secrets: {} });
  try {
    const provider = String(record.provider);
    const connection = String(record.connection_name ?? 'default');
    await vault.transaction(profile, async (tx) => {
      await tx.write('connection', keys.connection(profile, provider, connection), {
        schema_version: 2, provider, profile, connection_name: connection, auth_type: 'oauth2', status: 'connected', base_url: null, host_url: null,
        scopes: null, access_token: null, refresh_token: null, token_type: 'Bearer', expires_at: null, obtained_at: null, api_key: null,
        account: { id: null, label: null }, metadata: {}, ...record,
      } as never);
      await tx.write('metadata', keys.metadata(profile, provider), {
        schema_version: 2, profile, provider, default_connection: connection, connection_names: [connection], last_used_connection: connection, metadata: {},
      });
    });
  } finally {
    await vault.close();
  }
}
