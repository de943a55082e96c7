// "Connect" from the dashboard: the same broker login the CLI runs, with the daemon itself as the
// door. Where the CLI prints a URL and waits on its socket stream, this interaction opens the
// same sessions in the daemon's registry and hands the browser its next step: the provider's
// authorization page, the API-key or client form, the device page, or the end.
import { AuthsomeError } from '../../util/index.ts';
import type { DeviceCode, DeviceDisplay, InputRequest, LoginInteraction, LoginOutcome, PendingCallback } from '../../broker/index.ts';
import { START_PATH } from '../login-binding.ts';
import { token, type SessionRegistry, type SessionSpec } from '../sessions.ts';

export const CONNECT_PATH = '/ui/connect';
const DASHBOARD_PATH = '/ui';
/** A finished flow is forgotten after this long. */
const FORGET_MS = 10 * 60_000;

/** Where the browser goes next: off to the provider, to one of our pages, or back with the outcome. */
export type ConnectStep =
  | { kind: 'external'; url: string; provider: string }
  | { kind: 'page'; url: string }
  | { kind: 'done'; ok: boolean; message: string };

export interface DashboardLoginOptions {
  id: string;
  sessions: SessionRegistry;
  /** http://127.0.0.1:<port> */
  origin: () => string;
  callbackPath: string;
  log: (line: string) => void;
}

/** A LoginInteraction served by the daemon's own pages; its steps are read by GET /ui/connect/<id>. */
export class DashboardLogin implements LoginInteraction {
  readonly attended = true;
  readonly #options: DashboardLoginOptions;
  readonly #sessionIds: string[] = [];
  /** The start link of each authorization URL this login expects a callback for. */
  readonly #waiters: Array<(step: ConnectStep) => void> = [];
  #latest: { step: ConnectStep; seq: number } | null = null;
  #served = 0;

  constructor(options: DashboardLoginOptions) {
    this.#options = options;
  }

  get done(): boolean {
    return this.#latest?.step.kind === 'done';
  }

  /** The step not yet shown to the browser, waiting up to timeoutMs; else the latest external step again (a reload), else null. */
  async nextStep(timeoutMs: number): Promise<ConnectStep | null> {
    if (this.#latest && this.#latest.seq > this.#served) return this.#serve();
    const arrived = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(wake), 1);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(wake);
    });
    if (arrived) return this.#serve();
    return this.#latest?.step.kind === 'external' ? this.#latest.step : null;
  }

  #serve(): ConnectStep {
    this.#served = this.#latest!.seq;
    return this.#latest!.step;
  }

  #push(step: ConnectStep): void {
    if (this.done) return; // the first outcome is the one that counts
    this.#latest = { step, seq: (this.#latest?.seq ?? 0) + 1 };
    for (const wake of this.#waiters.splice(0)) wake(step);
  }

  /** Ends the flow with `outcome` unless the login already reported its own. */
  settle(outcome: LoginOutcome): void {
    this.#push({ kind: 'done', ok: outcome.ok, message: outcome.message });
  }

  async redirectUri(): Promise<string> {
    return `${this.#options.origin()}${this.#options.callbackPath}`;
  }

  async expectCallback(state: string, provider: string, authorizationUrl: string): Promise<PendingCallback> {
    let resolve!: (params: URLSearchParams) => void;
    let reject!: (error: Error) => void;
    const params = new Promise<URLSearchParams>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    params.catch(() => undefined); // observed by the broker
    const id = this.#open({ kind: 'callback', provider, state, authorization_url: authorizationUrl }, (event) => {
      if (event.type === 'result' && event.params) resolve(new URLSearchParams(event.params));
      else if (event.type === 'error') reject(sessionError(event, provider));
    });
    // The broker cancels once it holds the params; the session ends with loginFinished (or expires), as the CLI's does.
    return { params, startUrl: `${this.#options.origin()}${START_PATH}/${id}`, cancel: () => undefined };
  }

  /** The browser goes by the start link, which binds the login to it (login-binding.ts), then on to the provider. */
  openAuthorizationUrl(pending: PendingCallback, _url: string, provider: string): void {
    this.#push({ kind: 'external', url: pending.startUrl, provider });
  }

  async showDeviceCode(code: DeviceCode, provider: string): Promise<DeviceDisplay> {
    const id = this.#open({
      kind: 'device', provider, title: `Log in to ${provider}`, user_code: code.userCode, verification_uri: code.verificationUri,
      verification_uri_complete: code.verificationUriComplete, expires_in: Math.round((code.expiresAt.getTime() - Date.now()) / 1000),
    }, () => undefined);
    this.#push({ kind: 'page', url: `/device/${id}` });
    return { progress: () => undefined };
  }

  async collectInput(request: InputRequest): Promise<Record<string, string>> {
    let resolve!: (values: Record<string, string>) => void;
    let reject!: (error: Error) => void;
    const values = new Promise<Record<string, string>>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    // An API key ends the login (the page waits to say "Saved", then leads back); a client form
    // is one step of an OAuth login (its page leads on to the next step).
    const next = request.completesLogin
      ? { next_url: DASHBOARD_PATH, next_label: 'Back to the dashboard' }
      : { next_url: `${CONNECT_PATH}/${this.#options.id}`, next_label: 'Continue' };
    const id = this.#open({
      kind: 'input', provider: request.provider, title: request.title, intro: request.intro, fields: request.fields,
      redirect_uri: request.redirectUri ?? null, docs_url: request.docsUrl ?? null, await_outcome: Boolean(request.completesLogin), ...next,
    }, (event) => {
      if (event.type === 'result' && event.values) resolve(event.values);
      else if (event.type === 'error') reject(sessionError(event, request.provider));
    });
    this.#push({ kind: 'page', url: `/input/${id}` });
    return values;
  }

  info(message: string): void {
    this.#options.log(`dashboard login: ${message}`);
  }

  loginFinished(outcome: LoginOutcome): void {
    for (const id of this.#sessionIds) this.#options.sessions.finish(id, outcome);
    this.#push({ kind: 'done', ok: outcome.ok, message: outcome.message });
  }

  #open(spec: SessionSpec, send: Parameters<SessionRegistry['open']>[1]): string {
    const withLink = spec.next_url ? spec : { ...spec, next_url: DASHBOARD_PATH, next_label: 'Back to the dashboard' };
    const session = this.#options.sessions.open(withLink, send);
    this.#sessionIds.push(session.id);
    return session.id;
  }
}

function sessionError(event: { error: string; message: string }, provider: string): AuthsomeError {
  if (event.error === 'session_expired') return new AuthsomeError('authentication_failed', `${event.message}; nothing was stored`, { provider, hint: 'Start the connection again from the dashboard.' });
  return new AuthsomeError('daemon_unavailable', event.message, { provider });
}

interface Flow {
  owner: string;
  login: DashboardLogin;
}

/** The dashboard's logins in progress, each visible only to the dashboard session that started it. */
export class ConnectFlows {
  readonly #flows = new Map<string, Flow>();
  readonly #options: Omit<DashboardLoginOptions, 'id'>;

  constructor(options: Omit<DashboardLoginOptions, 'id'>) {
    this.#options = options;
  }

  /** Starts `run` with a new interaction; `onDone` hears the outcome (for the owner's next page). */
  start(owner: string, run: (login: DashboardLogin) => Promise<LoginOutcome>, onDone: (outcome: LoginOutcome) => void): string {
    const id = token();
    const login = new DashboardLogin({ ...this.#options, id });
    this.#flows.set(id, { owner, login });
    void run(login)
      .catch((error: Error) => ({ ok: false, message: error.message }))
      .then((outcome) => {
        login.settle(outcome);
        onDone(outcome);
        setTimeout(() => this.#flows.delete(id), FORGET_MS).unref();
      });
    return id;
  }

  get(id: string, owner: string): DashboardLogin | null {
    const flow = this.#flows.get(id);
    return flow && flow.owner === owner ? flow.login : null;
  }
}
