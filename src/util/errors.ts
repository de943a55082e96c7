// The one error hierarchy: every failure is an AuthsomeError with a stable code from CODES,
// which also fixes the CLI exit code and the daemon's HTTP status. Callers switch on `code`.

/** code → [exit code, HTTP status]. Exit codes 3–7 keep the Python authsome's meanings; 8 is ours. */
export const CODES = {
  internal: [1, 500],
  unhealthy: [1, 500],
  address_in_use: [1, 503],
  daemon_unavailable: [1, 503],
  usage: [2, 400],
  input_required: [2, 400],
  input_invalid: [2, 400],
  conflict: [2, 409],
  flow_unsupported: [2, 501],
  provider_not_found: [3, 404],
  provider_invalid: [3, 422],
  authentication_failed: [4, 401],
  state_mismatch: [4, 400],
  credential_missing: [5, 404],
  profile_not_found: [5, 404],
  refresh_failed: [6, 502],
  store_unavailable: [7, 503],
  store_corrupt: [7, 503],
  store_version_unsupported: [7, 503],
  record_malformed: [7, 503],
  home_not_writable: [7, 503],
  home_insecure: [7, 503],
  master_key_missing: [7, 503],
  master_key_mismatch: [7, 503],
  master_key_unavailable: [7, 503],
  network_error: [8, 502],
} as const satisfies Record<string, readonly [number, number]>;

export type ErrorCode = keyof typeof CODES;

export interface ErrorDetails {
  /** The next command or action that fixes the problem. */
  hint?: string;
  cause?: unknown;
  provider?: string;
  connection?: string;
}

export class AuthsomeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly provider: string | undefined;
  readonly connection: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AuthsomeError';
    this.code = code;
    this.hint = details.hint;
    this.provider = details.provider;
    this.connection = details.connection;
  }

  get exitCode(): number {
    return CODES[this.code][0];
  }

  get httpStatus(): number {
    return CODES[this.code][1];
  }

  /** The `--json` error envelope. */
  toJSON(): { error: ErrorCode; message: string; hint?: string } {
    return this.hint ? { error: this.code, message: this.message, hint: this.hint } : { error: this.code, message: this.message };
  }
}

export function isAuthsomeError(value: unknown): value is AuthsomeError {
  return value instanceof AuthsomeError;
}

/** Wraps anything thrown into an AuthsomeError so every door reports failures the same way. */
export function toAuthsomeError(value: unknown): AuthsomeError {
  if (value instanceof AuthsomeError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new AuthsomeError('internal', message, { cause: value });
}
