// What a credential value may be, wherever it comes from: a token endpoint, a key typed or piped
// at login, a record another program stored. Credentials travel in HTTP headers, environment
// variables and exported files, so anything a header or a shell could read as structure is refused.
//
// RFC 6749 Appendix A.12 and A.17 allow access and refresh tokens VSCHAR = %x20-7E. RFC 6750 §2.1
// narrows a Bearer credential to b64token (ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/",
// then "="), but real providers issue more than that (Salesforce access tokens carry "!", Twilio
// keys are "SID:secret"), so authsome takes VSCHAR without the space: %x21-7E. The space goes
// because a header value or an unquoted variable would split at it, and no provider we know uses
// it. Every control character, and anything outside ASCII, stays out.

/** The longest credential authsome stores or hands out (16 KiB; real tokens, JWTs included, stay far below). */
export const MAX_CREDENTIAL_LENGTH = 16 * 1024;

const OUTSIDE = /[^\x21-\x7e]/;

/** Why `value` cannot be a credential, in words that never repeat the value; null when it can. */
export function credentialProblem(value: string): string | null {
  if (value.length === 0) return 'it is empty';
  if (value.length > MAX_CREDENTIAL_LENGTH) return `it is ${value.length} characters long, more than the ${MAX_CREDENTIAL_LENGTH} authsome accepts`;
  const found = OUTSIDE.exec(value);
  if (found) return `it contains ${describeCharacter(found[0])} at position ${found.index + 1}; only printable ASCII without spaces (RFC 6749 VSCHAR, %x21-7E) is accepted`;
  return null;
}

/**
 * Why a value cannot be exported as an environment variable; null when it can. Scopes are
 * exported space-separated, so the space is allowed here; nothing else beyond the credential rule.
 */
export function exportProblem(value: string): string | null {
  if (value.length > MAX_CREDENTIAL_LENGTH) return `it is ${value.length} characters long, more than the ${MAX_CREDENTIAL_LENGTH} authsome hands out`;
  const found = /[^\x20-\x7e]/.exec(value);
  if (found) return `it contains ${describeCharacter(found[0])} at position ${found.index + 1}`;
  return null;
}

const NAMED: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', ' ': 'a space', '\0': 'a NUL byte', '\x1b': 'an escape character' };

/** "a newline (U+000A)", "U+00E9": never the character itself, which may be a control. */
function describeCharacter(char: string): string {
  const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return NAMED[char] ? `${NAMED[char]} (${code})` : code;
}
