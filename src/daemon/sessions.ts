// Login sessions the daemon holds for a waiting CLI: an OAuth callback expected under a `state`
// (behind a start link that binds it to the browser that opens it), an input form behind a
// one-time link, a device-code page. Each expires (5 minutes; a device
// session when its code does), and an abandoned one is dropped the moment its CLI goes away, so
// a stale session never blocks a new login.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { InputField } from '../broker/index.ts';

export const SESSION_TTL_MS = 5 * 60_000;
/** How long a finished session's page keeps saying what happened (and that its link is used up). */
const TOMBSTONE_MS = 10 * 60_000;

/** The broker's description of a form field, sent by the CLI. */
export type InputFieldSpec = InputField;

export type SessionSpec = (
  | {
      kind: 'callback'; provider: string; state: string;
      /** Where the start link (/auth/start/<id>) sends the browser once it has the login's cookie. */
      authorization_url: string;
    }
  | {
      kind: 'input'; provider: string; title: string; intro: string; fields: InputFieldSpec[]; redirect_uri?: string | null; docs_url?: string | null;
      /** The page waits for the CLI's outcome before saying "Saved" (the values are the whole login). */
      await_outcome?: boolean;
    }
  | { kind: 'device'; provider: string; title: string; user_code: string; verification_uri: string; verification_uri_complete?: string | null; expires_in: number }
) & {
  /** Where the page points once the flow ends, a path on this daemon (the dashboard's logins); absent: "return to your terminal". */
  next_url?: string | null;
  next_label?: string | null;
};

/** What the waiting CLI receives on its stream, one JSON line each. */
export type SessionEvent =
  | { type: 'session'; id: string; url: string | null; launch_url?: string | null; expires_at: string }
  | { type: 'result'; params?: Record<string, string>; values?: Record<string, string> }
  | { type: 'error'; error: string; message: string };

export interface Outcome {
  ok: boolean;
  message: string;
}

export interface Session {
  readonly id: string;
  readonly spec: SessionSpec;
  readonly csrf: string;
  /** A callback session's browser binding: the value of the cookie its start link sets, which the callback must bring back. */
  readonly binding: string;
  readonly expiresAt: Date;
  status: 'pending' | 'delivered' | 'finished' | 'failed';
  outcome: Outcome | null;
}

interface Entry {
  session: Session;
  send: (event: SessionEvent) => void;
  timer: NodeJS.Timeout;
  outcomeWaiters: Array<(outcome: Outcome | null) => void>;
}

export class SessionRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #byState = new Map<string, string>();
  readonly #onEnd: (id: string) => void;

  /** onEnd: a session stopped waiting for its browser (delivered, finished, failed, expired, abandoned). */
  constructor(options: { onEnd?: (id: string) => void } = {}) {
    this.#onEnd = options.onEnd ?? (() => {});
  }

  /** Opens a session; `send` delivers events to the CLI that asked for it. */
  open(spec: SessionSpec, send: (event: SessionEvent) => void): Session {
    if (spec.kind === 'callback') this.#dropState(spec.state);
    const ttl = spec.kind === 'device' ? Math.max(1, spec.expires_in) * 1000 : SESSION_TTL_MS;
    const session: Session = { id: token(), spec, csrf: token(), binding: token(), expiresAt: new Date(Date.now() + ttl), status: 'pending', outcome: null };
    const timer = setTimeout(() => this.#expire(session.id), ttl);
    timer.unref();
    this.#entries.set(session.id, { session, send, timer, outcomeWaiters: [] });
    if (spec.kind === 'callback') this.#byState.set(spec.state, session.id);
    return session;
  }

  get(id: string): Session | null {
    return this.#entries.get(id)?.session ?? null;
  }

  /** The pending callback session for a state; constant-time so timing tells nothing about states. */
  byState(state: string): Session | null {
    for (const [known, id] of this.#byState) {
      if (known.length === state.length && timingSafeEqual(Buffer.from(known), Buffer.from(state))) return this.get(id);
    }
    return null;
  }

  get size(): number {
    return [...this.#entries.values()].filter((e) => e.session.status === 'pending' || e.session.status === 'delivered').length;
  }

  /** Hands the result to the CLI; the session is used up (a replayed link finds it spent). */
  deliver(id: string, result: Extract<SessionEvent, { type: 'result' }>): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.session.status !== 'pending') return;
    entry.session.status = 'delivered';
    if (entry.session.spec.kind === 'callback') this.#dropState(entry.session.spec.state);
    this.#onEnd(id);
    entry.send(result);
  }

  fail(id: string, error: string, message: string): void {
    const entry = this.#entries.get(id);
    if (!entry || (entry.session.status !== 'pending' && entry.session.status !== 'delivered')) return;
    entry.send({ type: 'error', error, message });
    this.finish(id, { ok: false, message });
  }

  /** The CLI reports how the login ended, for the browser page still showing it. */
  finish(id: string, outcome: Outcome): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.session.status = outcome.ok ? 'finished' : 'failed';
    entry.session.outcome = outcome;
    if (entry.session.spec.kind === 'callback') this.#dropState(entry.session.spec.state);
    this.#onEnd(id);
    for (const wake of entry.outcomeWaiters.splice(0)) wake(outcome);
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.#entries.delete(id), TOMBSTONE_MS);
    entry.timer.unref();
  }

  /** Waits (up to timeoutMs) for the CLI to say how the login ended. */
  waitForOutcome(id: string, timeoutMs: number): Promise<Outcome | null> {
    const entry = this.#entries.get(id);
    if (!entry) return Promise.resolve(null);
    if (entry.session.outcome) return Promise.resolve(entry.session.outcome);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      entry.outcomeWaiters.push((outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
  }

  /** The CLI went away: its session can no longer complete. */
  abandon(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.session.outcome) return;
    this.finish(id, { ok: false, message: 'The login was cancelled in the terminal.' });
  }

  closeAll(message: string): void {
    for (const id of [...this.#entries.keys()]) this.fail(id, 'daemon_stopped', message);
  }

  #expire(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const message = entry.session.spec.kind === 'device'
      ? 'the device code expired before it was approved'
      : `the login was not completed within ${SESSION_TTL_MS / 60_000} minutes`;
    this.fail(id, 'session_expired', message);
  }

  #dropState(state: string): void {
    this.#byState.delete(state);
  }
}

/** 256 bits, URL-safe: one-time links and CSRF nonces. */
export function token(): string {
  return randomBytes(32).toString('base64url');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
