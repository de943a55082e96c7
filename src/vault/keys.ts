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

/**
 * Splits a key on ":" as the Python implementation does; null for keys outside the namespace.
 * Found with indexOf rather than split(), and the profile and provider strings of the key before
 * reused when they are the same (a store lists keys in order, so neighbours share them): a list
 * parses every key of the profile (issue 18).
 */
export function parseKey(key: string): ParsedKey | null {
  if (!key.startsWith('profile:')) return null;
  const afterProfile = key.indexOf(':', 8);
  const afterProvider = afterProfile < 0 ? -1 : key.indexOf(':', afterProfile + 1);
  if (afterProvider < 0) return null; // fewer than 4 parts
  const afterKind = key.indexOf(':', afterProvider + 1);
  const profile = (lastProfile = sameAt(key, 8, afterProfile, lastProfile) ? lastProfile : key.slice(8, afterProfile));
  const provider = (lastProvider = sameAt(key, afterProfile + 1, afterProvider, lastProvider) ? lastProvider : key.slice(afterProfile + 1, afterProvider));
  if (afterKind < 0) {
    const kind = key.slice(afterProvider + 1);
    return kind === 'metadata' || kind === 'client' || kind === 'state' ? { profile, provider, kind } : null;
  }
  // Exactly 5 parts, the last not empty.
  if (!sameAt(key, afterProvider + 1, afterKind, 'connection') || afterKind === key.length - 1 || key.indexOf(':', afterKind + 1) >= 0) return null;
  return { profile, provider, kind: 'connection', connection: key.slice(afterKind + 1) };
}

let lastProfile = '';
let lastProvider = '';

/** key.slice(start, end) === part, without making the slice. */
function sameAt(key: string, start: number, end: number, part: string): boolean {
  return end - start === part.length && key.startsWith(part, start);
}

/** Names become parts of keys and paths, so ":" and "/" are never allowed (the one rule is util's). */
export { isValidName } from '../util/index.ts';
