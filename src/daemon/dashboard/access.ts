// Who may see the dashboard: `authsome ui` asks the daemon (over the 0600 Unix socket) for a
// one-time link; the browser trades it, once, for an HttpOnly, SameSite=Strict session cookie.
// Each session carries the CSRF token its pages embed, and a one-message "flash" that tells the
// next page how an action ended. Everything is kept in memory, keyed by a SHA-256 of the secret,
// so a lookup's timing says nothing about the value and a heap dump holds no usable cookie.
import { createHash } from 'node:crypto';
import { sameSecret, token } from '../sessions.ts';

/**
 * Browsers share cookies among all ports of 127.0.0.1, so each daemon (one per home) names its
 * cookie after its port: two dashboards open side by side do not sign each other out.
 */
export const cookieName = (port: number) => `authsome_ui_${port}`;
export const COOKIE_PATH = '/ui';
/** How long an unused one-time link stays valid. */
export const LINK_TTL_MS = 10 * 60_000;
/** A session ends after this long without a request. */
export const SESSION_IDLE_MS = 12 * 60 * 60_000;
/** The newest sessions kept; older ones end (each `authsome ui` makes one). */
const MAX_SESSIONS = 32;

export interface Flash {
  ok: boolean;
  message: string;
}

export interface UiSession {
  readonly id: string;
  readonly csrf: string;
  lastSeenMs: number;
  flash: Flash | null;
}

export type Redeemed = { session: UiSession; cookie: string } | { error: 'used' | 'unknown' };

const digest = (value: string) => createHash('sha256').update(value).digest('hex');

export class DashboardAccess {
  readonly #links = new Map<string, { expiresMs: number; usedMs: number | null }>();
  readonly #sessions = new Map<string, UiSession>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A new one-time link token and when it stops working. */
  mintLink(): { token: string; expiresAt: Date } {
    this.#sweep();
    const value = token();
    const expiresMs = this.#now() + LINK_TTL_MS;
    this.#links.set(digest(value), { expiresMs, usedMs: null });
    return { token: value, expiresAt: new Date(expiresMs) };
  }

  /** Spends a link: a new session and its cookie value, or why not (a used link is remembered as used until it would have expired). */
  redeem(linkToken: string): Redeemed {
    this.#sweep();
    const link = this.#links.get(digest(linkToken));
    if (!link) return { error: 'unknown' };
    if (link.usedMs !== null) return { error: 'used' };
    link.usedMs = this.#now();
    const cookie = token();
    const session: UiSession = { id: digest(cookie), csrf: token(), lastSeenMs: this.#now(), flash: null };
    this.#sessions.set(session.id, session);
    while (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    return { session, cookie };
  }

  /** The live session for a cookie value (and marks it used now), or null. */
  session(cookie: string | undefined): UiSession | null {
    if (!cookie) return null;
    const session = this.#sessions.get(digest(cookie));
    if (!session) return null;
    if (this.#now() - session.lastSeenMs > SESSION_IDLE_MS) {
      this.#sessions.delete(session.id);
      return null;
    }
    session.lastSeenMs = this.#now();
    return session;
  }

  /** Whether `presented` is this session's CSRF token (constant time). */
  checkCsrf(session: UiSession, presented: string | undefined): boolean {
    return typeof presented === 'string' && sameSecret(presented, session.csrf);
  }

  end(session: UiSession): void {
    this.#sessions.delete(session.id);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, link] of this.#links) if (link.expiresMs <= now) this.#links.delete(key);
    for (const [key, session] of this.#sessions) if (now - session.lastSeenMs > SESSION_IDLE_MS) this.#sessions.delete(key);
  }
}
