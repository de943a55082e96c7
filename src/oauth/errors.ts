// OAuth failures as AuthsomeErrors: the provider's `error` and `error_description` are kept as
// typed fields, and oauth4webapi's exceptions become messages that name the endpoint and say why.
import { AuthsomeError, type ErrorCode, type ErrorDetails } from '../util/index.ts';

/** RFC 6749 §5.2 / RFC 8628 §3.5 error codes that mean the grant or client is rejected for good. */
export const REJECTION_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'expired_token', 'access_denied']);

export interface OAuthErrorFields {
  /** The provider's `error` code, e.g. invalid_grant; or a local one (network_error, invalid_response). */
  error: string;
  description?: string | undefined;
  /** HTTP status of the provider's answer, when there was one. */
  status?: number | undefined;
  /** The error came from the provider as a well-formed OAuth error (its description is its words). */
  fromProvider?: boolean;
}

/** A failure reported by, or while talking to, an authorization server. */
export class OAuthError extends AuthsomeError {
  readonly error: string;
  readonly description: string | undefined;
  readonly status: number | undefined;
  readonly fromProvider: boolean;

  constructor(code: ErrorCode, message: string, fields: OAuthErrorFields, details: ErrorDetails = {}) {
    super(code, message, details);
    this.name = 'OAuthError';
    this.error = fields.error;
    this.description = fields.description;
    this.status = fields.status;
    this.fromProvider = fields.fromProvider ?? false;
  }

  /** The provider rejected the grant or client (re-login needed), rather than a transient failure. */
  get isRejection(): boolean {
    return REJECTION_ERRORS.has(this.error);
  }
}

interface Oauth4webapiError {
  name?: string;
  message?: string;
  code?: string;
  error?: string;
  error_description?: string;
  status?: number;
  cause?: unknown;
}

/**
 * A failure to reach the server says nothing about the credentials: a login, a discovery, a
 * registration or a revocation that cannot reach its endpoint fails with `network_error` (its own
 * exit status) rather than `authentication_failed`. A refresh keeps `refresh_failed`, whose
 * `expired` recovery the documentation gives for network errors.
 */
function networkCode(code: ErrorCode): ErrorCode {
  return code === 'authentication_failed' ? 'network_error' : code;
}

function networkDetails(code: ErrorCode, details: ErrorDetails): ErrorDetails {
  if (code !== 'authentication_failed' || details.hint) return details;
  return { ...details, hint: 'Check the network connection to the provider, then run the command again.' };
}

/**
 * Converts whatever an OAuth step threw into an OAuthError. `what` names the step for people
 * ("the token endpoint of github"); `code` is the AuthsomeError code the caller reports under.
 */
export function toOAuthError(thrown: unknown, what: string, code: ErrorCode, details: ErrorDetails = {}): OAuthError | AuthsomeError {
  if (thrown instanceof AuthsomeError) return thrown;
  const e = (thrown ?? {}) as Oauth4webapiError;
  // ResponseBodyError / AuthorizationResponseError: a well-formed OAuth error from the server.
  if (typeof e.error === 'string') {
    const description = e.error_description || undefined;
    return new OAuthError(code, `${what} answered ${e.error}${description ? `: ${description}` : ''}`, { error: e.error, description, status: e.status, fromProvider: true }, details);
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new OAuthError(networkCode(code), `${what} did not answer in time`, { error: 'timeout' }, networkDetails(code, details));
  }
  // fetch() wraps socket failures in a TypeError whose cause carries the errno code.
  if (e.name === 'TypeError' && e.message === 'fetch failed') {
    const cause = e.cause as { code?: string; message?: string } | undefined;
    // The connection could not even be opened in time (a dropped SYN): the same words as a slow answer.
    if (cause?.code === 'UND_ERR_CONNECT_TIMEOUT' || cause?.code === 'ETIMEDOUT') {
      return new OAuthError(networkCode(code), `could not connect to ${what} in time`, { error: 'timeout', description: cause.code }, { ...networkDetails(code, details), cause: thrown });
    }
    const reason = cause?.code ?? cause?.message ?? 'network error';
    return new OAuthError(networkCode(code), `could not reach ${what}: ${reason}`, { error: 'network_error', description: reason }, { ...networkDetails(code, details), cause: thrown });
  }
  // OperationProcessingError: the answer was not what RFC 6749 says it must be (HTML, no access_token…).
  if (typeof e.code === 'string' && e.code.startsWith('OAUTH_')) {
    const cause = e.cause as { status?: number; headers?: Headers } | undefined;
    const status = cause instanceof Response ? cause.status : undefined;
    // oauth4webapi reads only 4xx bodies as OAuth errors. An overloaded or broken server (5xx,
    // 429) is a transient condition, named the way RFC 6749 §4.1.2.1 names it.
    if (status !== undefined && (status >= 500 || status === 429)) {
      const error = status === 503 ? 'temporarily_unavailable' : status === 429 ? 'rate_limited' : 'server_error';
      return new OAuthError(code, `${what} answered HTTP ${status}`, { error, status }, details);
    }
    const type = cause instanceof Response ? cause.headers.get('content-type') : undefined;
    const seen = status !== undefined ? ` (HTTP ${status}${type ? `, ${type.split(';')[0]}` : ''})` : '';
    return new OAuthError(code, `${what} gave an answer that is not a valid OAuth response${seen}: ${e.message}`, { error: 'invalid_response', description: e.message, status }, details);
  }
  return new OAuthError(code, `${what} failed: ${e.message ?? String(thrown)}`, { error: 'internal' }, { ...details, cause: thrown });
}

/** The server could not be reached at all (refused, no such host, no answer in time): asking it for another document only multiplies the wait. */
export function isUnreachable(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError' || (name === 'TypeError' && (error as Error).message === 'fetch failed');
}
