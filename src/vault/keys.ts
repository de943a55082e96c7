// The key namespace of the Python store: profile:<profile>:<provider>:<kind>[:<connection>].

export type RecordKind = 'connection' | 'metadata' | 'client' | 'state';

export const keys = {
  profilePrefix: (profile: string) => `profile:${profile}:`,
  providerPrefix: (profile: string, provider: string) => `profile:${profile}:${provider}:`,
  connection: (profile: string, provider: string, connection: string) => `profile:${profile}:${provider}:connection:${connection}`,
  metadata: (profile: string, provider: string) => `profile:${profile}:${provider}:metadata`,
  client: (profile: string, provider: string) => `profile:${profile}:${provider}:client`,
  state: (profile: string, provider: string) => `profile:${profile}:${provider}:state`,
};

export interface ParsedKey {
  profile: string;
  provider: string;
  kind: RecordKind;
  connection?: string;
}

/** Splits a key on ":" as the Python implementation does; null for keys outside the namespace. */
export function parseKey(key: string): ParsedKey | null {
  const parts = key.split(':');
  if (parts[0] !== 'profile' || parts.length < 4) return null;
  const [, profile, provider, kind, connection] = parts as [string, string, string, string, string?];
  if (kind === 'connection' && parts.length === 5 && connection) return { profile, provider, kind, connection };
  if ((kind === 'metadata' || kind === 'client' || kind === 'state') && parts.length === 4) return { profile, provider, kind };
  return null;
}

/** Names become parts of keys and paths, so ":" and "/" are never allowed (the one rule is util's). */
export { isValidName } from '../util/index.ts';
