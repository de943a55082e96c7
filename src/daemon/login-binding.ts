// Binding an OAuth login to the browser that started it (issue 14, item 1). The start link
// (/auth/start/<session>) sets an HttpOnly cookie that only that session's callback can match, then
// sends the browser on to the authorization endpoint; the callback completes the login only when
// the cookie comes back with the session's `state`. SameSite=Lax: browsers send it on the
// top-level GET that returns from the provider (RFC 6265bis, the SameSite attribute), never on a cross-site
// sub-request. So an authorization URL that leaks (a history, a screen, a log) and is completed in
// another browser reaches us without it, and the login keeps waiting for its own browser.
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { sameSecret, type Session } from './sessions.ts';

export const START_PATH = '/auth/start';

/**
 * Browsers share cookies among the ports of 127.0.0.1, and one person may run two logins at once:
 * the name carries the port and a digest of the session, so neither overwrites another's cookie.
 */
function cookieName(session: Session, port: number): string {
  return `authsome_login_${port}_${createHash('sha256').update(session.id).digest('hex').slice(0, 16)}`;
}

/** Sent back only to the callback path, and only until the session would expire. */
export function setLoginBinding(c: Context, session: Session, port: number, callbackPath: string): void {
  const maxAge = Math.max(1, Math.ceil((session.expiresAt.getTime() - Date.now()) / 1000));
  setCookie(c, cookieName(session, port), session.binding, { httpOnly: true, sameSite: 'Lax', path: callbackPath, maxAge });
}

/** Whether this request carries the session's binding cookie (constant-time). */
export function hasLoginBinding(c: Context, session: Session, port: number): boolean {
  const presented = getCookie(c, cookieName(session, port));
  return typeof presented === 'string' && sameSecret(presented, session.binding);
}

export function clearLoginBinding(c: Context, session: Session, port: number, callbackPath: string): void {
  deleteCookie(c, cookieName(session, port), { path: callbackPath });
}
