// The one rule for provider, connection and profile names. They become parts of file paths
// (<home>/providers/<name>.json, <home>/profiles/<name>/) and of store keys
// (profile:<p>:<provider>:connection:<c>), so "/", "..", ":" and control characters never get in.
import { AuthsomeError } from './errors.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_NAME_LENGTH = 64;

export type NameKind = 'provider' | 'connection' | 'profile';

/** Letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 long. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

/**
 * Returns the name, or throws input_invalid before anything is looked up, so the answer is the
 * same whatever the name points at. The name is quoted as JSON (control characters escaped) and clipped.
 */
export function requireName(kind: NameKind, name: unknown): string {
  if (isValidName(name)) return name;
  const shown = typeof name === 'string' ? JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name) : String(name);
  throw new AuthsomeError('input_invalid', `${shown} is not a valid ${kind} name`, {
    hint: `A ${kind} name uses letters, digits, ".", "_" and "-", starts with a letter or digit, and is at most ${MAX_NAME_LENGTH} characters long.`,
  });
}
