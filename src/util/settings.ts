// One schema of settings: defaults, environment variables and descriptions in one place.
// Doors (CLI, library) resolve them once into a frozen object; rooms never read process.env.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { AuthsomeError } from './errors.ts';

export interface Settings {
  /** The store's home folder. */
  readonly home: string;
  /** The profile chosen explicitly (flag or env); undefined means config.json's default_profile. */
  readonly profile: string | undefined;
  /** Base64 master key from the environment; overrides every other key source. */
  readonly masterKey: string | undefined;
  /** Passphrase for the `passphrase` key source. */
  readonly passphrase: string | undefined;
  /** Debug output on stderr. */
  readonly verbose: boolean;
  /** The daemon's loopback port for browser routes (the OAuth redirect URI names it). */
  readonly port: number;
  /** How long one request to an authorization server may take; the refresh lease outlives it. */
  readonly refreshTimeoutMs: number;
  /**
   * After a transient refresh failure, how long accesses use what is stored (a still-valid token,
   * or the `expired` error at once) instead of trying the unreachable token endpoint again.
   */
  readonly refreshBackoffMs: number;
  /** How often the daemon looks for connections to renew ahead of time. */
  readonly daemonRefreshIntervalMs: number;
  /** The shared store (`postgres://…`), or `sqlite` for the embedded one; undefined means config.json's store_url. */
  readonly storeUrl: string | undefined;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export const SETTINGS_DOC = [
  { env: 'AUTHSOME_HOME', flag: '--home', default: '~/.authsome', description: 'Folder that holds the vault, provider files, audit log and debug log.' },
  { env: 'AUTHSOME_PROFILE', flag: '--profile', default: 'config.json default_profile ("default")', description: 'Profile whose connections commands read and write.' },
  { env: 'AUTHSOME_MASTER_KEY', flag: null, default: '(unset)', description: 'Base64 of the 32-byte master key; overrides the key source in config.json (CI, containers, fleets).' },
  { env: 'AUTHSOME_PASSPHRASE', flag: null, default: '(unset)', description: 'Passphrase for the `passphrase` key source (scrypt).' },
  { env: 'AUTHSOME_PORT', flag: null, default: '7998', description: 'Loopback port of the daemon (OAuth redirect URI http://127.0.0.1:<port>/auth/callback/oauth); 0 picks a free one.' },
  { env: 'AUTHSOME_REFRESH_TIMEOUT', flag: null, default: '20', description: 'Seconds one request to a token endpoint may take; the refresh lease lasts 1.5 times as long.' },
  { env: 'AUTHSOME_REFRESH_BACKOFF', flag: null, default: '5', description: 'Seconds after a transient refresh failure during which other callers get the still-valid token, or the `expired` error, at once instead of waiting on the token endpoint again (0: every access retries).' },
  { env: 'AUTHSOME_DAEMON_REFRESH_INTERVAL', flag: null, default: '30', description: 'Seconds between the daemon\'s scans for tokens to renew ahead of time.' },
  { env: 'AUTHSOME_STORE_URL', flag: null, default: 'config.json store_url, else SQLite', description: 'Where records live: `postgres://user@host/db` for a store shared by a fleet, or `sqlite` for the embedded one under AUTHSOME_HOME.' },
  { env: 'AUTHSOME_VERBOSE', flag: '--verbose', default: '0', description: 'Debug output on stderr, every secret redacted.' },
] as const;

export interface SettingsOverrides {
  home?: string | undefined;
  profile?: string | undefined;
  verbose?: boolean | undefined;
}

/** defaults → environment → explicit overrides (flags, library options). */
export function resolveSettings(env: Environment, overrides: SettingsOverrides = {}): Settings {
  const home = overrides.home ?? nonEmpty(env.AUTHSOME_HOME) ?? join(env.HOME || homedir(), '.authsome');
  return Object.freeze({
    home: resolve(home),
    profile: overrides.profile ?? nonEmpty(env.AUTHSOME_PROFILE),
    masterKey: nonEmpty(env.AUTHSOME_MASTER_KEY),
    passphrase: env.AUTHSOME_PASSPHRASE || undefined,
    verbose: overrides.verbose ?? (env.AUTHSOME_VERBOSE === '1' || env.AUTHSOME_VERBOSE === 'true'),
    port: parsePort(env.AUTHSOME_PORT),
    refreshTimeoutMs: parseSeconds('AUTHSOME_REFRESH_TIMEOUT', env.AUTHSOME_REFRESH_TIMEOUT, 20) * 1000,
    refreshBackoffMs: parseSeconds('AUTHSOME_REFRESH_BACKOFF', env.AUTHSOME_REFRESH_BACKOFF, 5, { allowZero: true }) * 1000,
    daemonRefreshIntervalMs: parseSeconds('AUTHSOME_DAEMON_REFRESH_INTERVAL', env.AUTHSOME_DAEMON_REFRESH_INTERVAL, 30) * 1000,
    storeUrl: nonEmpty(env.AUTHSOME_STORE_URL)?.trim(),
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() ? value : undefined;
}

const DEFAULT_PORT = 7998;

function parsePort(value: string | undefined): number {
  if (!nonEmpty(value)) return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AuthsomeError('usage', `AUTHSOME_PORT must be a port number (0–65535), not "${value}"`);
  }
  return port;
}

function parseSeconds(name: string, value: string | undefined, fallback: number, options: { allowZero?: boolean } = {}): number {
  if (!nonEmpty(value)) return fallback;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || (seconds === 0 && !options.allowZero) || seconds > 600) {
    throw new AuthsomeError('usage', `${name} must be a number of seconds between 0 and 600, not "${value}"`);
  }
  return seconds;
}
