// The CLI's side of the daemon API: JSON requests over the home's Unix socket, and session
// streams read one JSON line at a time.
import { request, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { AuthsomeError } from '../util/index.ts';
import type { DaemonStatus, UiLink } from './api.ts';
import type { Outcome, SessionEvent, SessionSpec } from './sessions.ts';

export class SessionStream {
  readonly #events: AsyncIterator<string>;
  readonly #spec: SessionSpec;
  /** launchUrl: the file:// page that forwards to `url`, for the browser's command line (asked with `launch`). */
  constructor(
    readonly id: string, readonly url: string | null, readonly launchUrl: string | null, readonly expiresAt: Date,
    events: AsyncIterator<string>, readonly close: () => void, spec: SessionSpec,
  ) {
    this.#events = events;
    this.#spec = spec;
  }

  /**
   * The next event. A stream that ends early, or breaks (the daemon killed: the response is cut
   * off, which Node reports as "aborted"), means the daemon went away with the login.
   */
  async next(): Promise<Exclude<SessionEvent, { type: 'session' }>> {
    let line: IteratorResult<string>;
    try {
      line = await this.#events.next();
    } catch (error) {
      throw this.#lost(error);
    }
    if (line.done) throw this.#lost();
    return JSON.parse(line.value) as Exclude<SessionEvent, { type: 'session' }>;
  }

  #lost(cause?: unknown): AuthsomeError {
    const { provider, kind } = this.#spec;
    const waitingFor = kind === 'callback' ? 'the browser' : kind === 'input' ? 'the form' : 'the device page';
    return new AuthsomeError('daemon_unavailable', `the authsome daemon stopped while the login to ${provider} was waiting for ${waitingFor}; nothing was stored`, {
      hint: `Log in again: authsome login ${provider} (it starts a new daemon). To see why the daemon stopped: authsome daemon logs`,
      provider, cause,
    });
  }
}

export class DaemonClient {
  constructor(readonly socketPath: string, readonly log: (line: string) => void = () => {}) {}

  /** The running daemon's status, or null when nothing answers on the socket. */
  async status(): Promise<DaemonStatus | null> {
    try {
      const { status, body } = await this.#json('GET', '/v1/status');
      return status === 200 && (body as DaemonStatus).service === 'authsome-daemon' ? (body as DaemonStatus) : null;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK' || code === 'ECONNRESET') return null;
      throw error;
    }
  }

  async shutdown(): Promise<void> {
    await this.#json('POST', '/v1/shutdown');
  }

  /** A one-time dashboard URL (never logged: it is a credential until used); with `launch`, the page to open it with. */
  async uiLink(options: { launch?: boolean } = {}): Promise<UiLink> {
    const { status, body } = await this.#json('POST', '/v1/ui-link', { launch: options.launch === true });
    if (status !== 200) throw new AuthsomeError('daemon_unavailable', `the authsome daemon gave no dashboard link: ${(body as { message?: string } | null)?.message ?? status}`, { hint: 'See `authsome daemon logs`.' });
    return body as UiLink;
  }

  async outcome(id: string, outcome: Outcome): Promise<void> {
    await this.#json('POST', `/v1/sessions/${encodeURIComponent(id)}/outcome`, outcome);
  }

  /** Opens a session; resolves once the daemon has registered it. With `launch`, it also writes the page to open the browser with. */
  async openSession(spec: SessionSpec, options: { launch?: boolean } = {}): Promise<SessionStream> {
    const started = Date.now();
    const res = await this.#send('POST', '/v1/sessions', { ...spec, launch: options.launch === true });
    if (res.statusCode !== 200) throw new AuthsomeError('daemon_unavailable', `the authsome daemon refused the session: ${await text(res)}`);
    const lines = createInterface({ input: res, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new AuthsomeError('daemon_unavailable', 'the authsome daemon closed the session before it began');
    const event = JSON.parse(first.value) as Extract<SessionEvent, { type: 'session' }>;
    this.log(`daemon ← session ${spec.kind} ${event.id.slice(0, 6)}… in ${Date.now() - started} ms`);
    return new SessionStream(event.id, event.url, event.launch_url ?? null, new Date(event.expires_at), lines, () => res.destroy(), spec);
  }

  async #json(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const started = Date.now();
    const res = await this.#send(method, path, body);
    const raw = await text(res);
    // Session ids are one-time tokens for the browser pages: never whole in a log.
    this.log(`daemon ${method} ${path.replace(/(\/sessions\/)([^/]{6})[^/]*/, '$1$2…')} → ${res.statusCode} in ${Date.now() - started} ms`);
    return { status: res.statusCode ?? 0, body: raw ? JSON.parse(raw) : null };
  }

  #send(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ socketPath: this.socketPath, path, method, headers: payload ? { 'content-type': 'application/json' } : {} }, resolve);
      req.on('error', reject);
      req.end(payload);
    });
  }
}

async function text(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
