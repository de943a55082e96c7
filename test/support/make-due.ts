// Moves a stored connection's expires_at into the past, the way time would: the refresh tests'
// way to make a token due without waiting out an hour-long lifetime.
import { Vault, keys } from '../../src/vault/index.ts';
import { toRecordTimestamp } from '../../src/util/index.ts';

export async function makeDue(home: string, provider: string, connection = 'default', profile = 'default'): Promise<void> {
  const vault = new Vault({ home, secrets: {} });
  try {
    const key = keys.connection(profile, provider, connection);
    await vault.transaction(profile, async (tx) => {
      const record = await tx.read('connection', key);
      if (!record) throw new Error(`no record at ${key}`);
      await tx.write('connection', key, { ...record, expires_at: toRecordTimestamp(new Date(Date.now() - 1000)) });
    });
  } finally {
    await vault.close();
  }
}
