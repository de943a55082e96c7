// `init --store <url>`: points a home at a store (a shared PostgreSQL, or back to SQLite) after
// checking it can be reached, and keeps the choice in config.json's store_url.
import { AuthsomeError } from '../util/index.ts';
import { createBackend, parseStoreUrl } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';

export async function chooseStore(ctx: BrokerContext, url: string): Promise<void> {
  const { home, vault, settings } = ctx;
  const parsed = parseStoreUrl(url, '--store');
  if (settings.storeUrl !== undefined && settings.storeUrl !== url) {
    throw new AuthsomeError('usage', 'AUTHSOME_STORE_URL is set, and it overrides config.json: `init --store` would have no effect', {
      hint: 'Unset AUTHSOME_STORE_URL, or pass the same URL.',
    });
  }
  const current = vault.backend();
  const target = createBackend(home, parsed.kind === 'postgres' ? parsed.url : 'sqlite', '--store');
  try {
    if (target.location !== current.location) {
      const records = await current.countRecords();
      if (records > 0) {
        throw new AuthsomeError('conflict', `this home keeps ${records} record${records === 1 ? '' : 's'} in ${current.location}; switching stores would leave them behind`, {
          hint: `Move them with \`authsome migrate --to ${parsed.kind === 'postgres' ? target.location : 'sqlite'}\` instead.`,
        });
      }
    }
    // Connects and applies the schema now, so a wrong URL fails here rather than at the first login.
    await target.probe();
  } finally {
    await target.close();
  }
  await vault.saveStoreUrl(parsed.kind === 'postgres' ? parsed.url : undefined);
}
