// Chooses where a home's records live: the embedded SQLite files (the default), or a PostgreSQL
// database shared by a fleet (AUTHSOME_STORE_URL, or store_url in config.json).
import { AuthsomeError } from '../util/index.ts';
import type { Home } from './home.ts';
import { PgBackend } from './pg-backend.ts';
import { SqliteBackend } from './sqlite-backend.ts';
import type { StoreBackend } from './store.ts';

/** True for the URLs the PostgreSQL backend accepts. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** `sqlite` (or nothing) means the embedded store; anything else must be a postgres:// URL. */
export function parseStoreUrl(url: string | undefined, source: string): { kind: 'sqlite' } | { kind: 'postgres'; url: string } {
  if (url === undefined || url === '' || url.toLowerCase() === 'sqlite') return { kind: 'sqlite' };
  if (isPostgresUrl(url)) return { kind: 'postgres', url };
  // Never echo credentials: everything between the scheme and the last "@" goes.
  const shown = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^]*@/i, '$1…@').slice(0, 80);
  throw new AuthsomeError('usage', `${source} must be "sqlite" or a postgres:// URL, not "${shown}"`, {
    hint: 'For example postgres://authsome@db.internal:5432/authsome (put the password in PGPASSWORD or ~/.pgpass rather than the URL).',
  });
}

export function createBackend(home: Home, url: string | undefined, source: string): StoreBackend {
  const parsed = parseStoreUrl(url, source);
  return parsed.kind === 'sqlite' ? new SqliteBackend(home) : new PgBackend(parsed.url);
}
