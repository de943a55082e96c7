// Seeds many connections into a home quickly, for the scale part of the benchmark (bench/scale.mjs).
// Logging in 10,000 times through the CLI would take an hour; instead the records are written
// straight into profiles/<profile>/store.db as the Python authsome would write them: the `kv`
// table, each value the record's compact JSON sealed with AES-256-GCM under the home's one
// AUTHSOME_MASTER_KEY (base64(nonce) "." base64(ciphertext || tag), store-format.md), plus each
// provider's metadata record with its connection names. Half the connections are API keys of the
// bundled API-key providers, half OAuth logins of the bundled OAuth providers with an access token
// valid for 30 days (so none is due and a background refresher has nothing to do).
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO } from './common.mjs';

const require = createRequire(join(REPO, 'package.json'));
const Database = require('better-sqlite3');
const KV_DDL = 'CREATE TABLE kv (\n    key TEXT PRIMARY KEY,\n    value TEXT NOT NULL\n)';
const DAY_MS = 86_400_000;

/** Bundled providers by auth type, without the ones the benchmark measures (they keep their single connection). */
export function bundledProviders(exclude) {
  const dir = join(REPO, 'src/providers/bundled');
  const byType = { api_key: [], oauth2: [] };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const definition = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    if (!exclude.includes(definition.name)) byType[definition.auth_type]?.push(definition.name);
  }
  return byType;
}

function seal(key, record) {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(JSON.stringify(record), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${nonce.toString('base64')}.${body.toString('base64')}`;
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function connectionRecord(profile, provider, name, authType, now) {
  const oauth = authType === 'oauth2';
  return {
    schema_version: 2, provider, profile, connection_name: name, auth_type: authType, status: 'connected',
    base_url: null, host_url: null, scopes: oauth ? ['read'] : null,
    access_token: oauth ? `at-${randomBytes(16).toString('hex')}` : null,
    refresh_token: oauth ? `rt-${randomBytes(16).toString('hex')}` : null,
    token_type: oauth ? 'Bearer' : null,
    expires_at: oauth ? iso(now + 30 * DAY_MS) : null,
    obtained_at: iso(now),
    api_key: oauth ? null : `sk-seed-${randomBytes(16).toString('hex')}`,
    account: { id: null, label: null },
    metadata: oauth ? { generation: 1 } : {},
  };
}

/**
 * Adds `count` connections to `profile` of the home (the profile folder and its store are made
 * when missing), spread round-robin over the given providers, alternating API-key and OAuth ones.
 * Connection names are seed-00000…; one transaction, so 10,000 records take about a second.
 */
export function seedConnections({ home, masterKey, profile, count, providers }) {
  const key = Buffer.from(masterKey, 'base64');
  const dir = join(home, 'profiles', profile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const metadataFile = join(dir, 'metadata.json');
  if (!existsSync(metadataFile)) writeFileSync(metadataFile, JSON.stringify({ name: profile, created_at: iso(now), updated_at: iso(now), description: null }), { mode: 0o600 });
  const lockFile = join(dir, 'lock');
  if (!existsSync(lockFile)) writeFileSync(lockFile, '', { mode: 0o600 });

  const file = join(dir, 'store.db');
  const fresh = !existsSync(file);
  const db = new Database(file);
  try {
    if (fresh) {
      db.pragma('journal_mode = WAL');
      db.exec(KV_DDL);
    }
    const put = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
    const names = new Map();
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const oauth = i % 2 === 1 && providers.oauth2.length > 0;
        const pool = oauth ? providers.oauth2 : providers.api_key;
        const provider = pool[Math.floor(i / 2) % pool.length];
        const name = `seed-${String(i).padStart(5, '0')}`;
        put.run(`profile:${profile}:${provider}:connection:${name}`, seal(key, connectionRecord(profile, provider, name, oauth ? 'oauth2' : 'api_key', now)));
        if (!names.has(provider)) names.set(provider, []);
        names.get(provider).push(name);
      }
      for (const [provider, added] of names) {
        // Seeded once per profile: the providers here have no connections of their own.
        put.run(`profile:${profile}:${provider}:metadata`, seal(key, {
          schema_version: 2, profile, provider, default_connection: added[0], connection_names: added, last_used_connection: added.at(-1), metadata: {},
        }));
      }
    })();
  } finally {
    db.close();
  }
}
