// Logins an agent asks for through `authsome mcp serve`: a browser login whose start link goes
// back to the agent to show its person (the daemon receives the callback), a device-code login
// (RFC 8628) whose URL and code do, or a client-credentials login where the provider's flow is
// that — run here, in the server's process, so the agent never sees a credential. One pending
// login per connection; waiting for it has a timeout.
import { headlessLogin, toAuthsomeError, type Authsome, type DeviceCodePrompt, type LoginInteraction } from '../broker/index.ts';

/** The flows an agent can ask for: the browser's (the provider's pkce or dcr_pkce), the device code, client credentials. */
export type ServeFlow = 'browser' | 'device_code' | 'client_credentials';

/**
 * A login interaction for browser logins whose start link is handed to `onStartLink` instead of a
 * browser (the CLI's, backed by the daemon); absent, browser logins are not offered.
 */
export type BrowserLoginFactory = (onStartLink: (url: string) => void) => LoginInteraction;

type Prompt = { kind: 'device'; code: DeviceCodePrompt } | { kind: 'browser'; url: string };

/** How a login asked for through the server stands (never a credential). */
export type LoginState =
  | { status: 'pending'; provider: string; connection: string; verification_uri: string; verification_uri_complete: string | null; user_code: string; expires_at: string; next: string }
  | { status: 'pending'; provider: string; connection: string; login_url: string; next: string }
  | { status: 'connected'; provider: string; connection: string; account: string | null; flow: string }
  | { status: 'failed'; provider: string; connection: string; error: string; message: string; hint: string | null };

interface Pending {
  prompt: Promise<Prompt | null>;
  done: Promise<LoginState>;
}

export class ServeLogins {
  readonly #pending = new Map<string, Pending>();
  /** How each connection's last login ended, until someone waits for it. */
  readonly #finished = new Map<string, LoginState>();

  readonly #authsome: Authsome;
  readonly #browser: BrowserLoginFactory | undefined;

  constructor(authsome: Authsome, browser?: BrowserLoginFactory) {
    this.#authsome = authsome;
    this.#browser = browser;
  }

  /** Whether browser logins can be offered (a daemon to receive the callback). */
  get offersBrowser(): boolean {
    return this.#browser !== undefined;
  }

  /**
   * Starts the login (or joins the one under way) and answers as soon as there is something for a
   * person to do — the device code — or the login is over (client credentials need no one).
   */
  /** `browserFlow`: the provider's browser flow (dcr_pkce for an MCP server's URL, else pkce), used when `flow` is browser. */
  async request(provider: string, connection: string, flow: ServeFlow, replace: boolean, browserFlow: 'pkce' | 'dcr_pkce' = 'pkce'): Promise<LoginState> {
    const key = `${provider}\0${connection}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      this.#finished.delete(key);
      let show!: (prompt: Prompt | null) => void;
      const prompt = new Promise<Prompt | null>((resolve) => (show = resolve));
      // A browser login runs the provider's own flow (pkce, or dcr_pkce for an MCP server's URL).
      const login = flow === 'browser'
        ? this.#authsome.loginWithOAuth(provider, this.#browser!((url) => show({ kind: 'browser', url })), { flow: browserFlow, connection, force: replace })
        : this.#authsome.loginWithOAuth(provider, headlessLogin({ onDeviceCode: (code) => show({ kind: 'device', code }) }), { flow, connection, force: replace });
      const done = login
        .then((result): LoginState => ({ status: 'connected', provider, connection: result.connection, account: result.account.label, flow: result.flow }))
        .catch((error: unknown): LoginState => {
          const failure = toAuthsomeError(error);
          return { status: 'failed', provider, connection, error: failure.code, message: failure.message, hint: failure.hint ?? null };
        })
        .then((state) => {
          show(null);
          this.#pending.delete(key);
          this.#finished.set(key, state);
          return state;
        });
      pending = { prompt, done };
      this.#pending.set(key, pending);
    }
    const shown = await Promise.race([pending.prompt, pending.done.then(() => null)]);
    return shown ? pendingState(provider, connection, shown) : pending.done;
  }

  /** Waits up to timeoutMs for the login under way; null when there is none and none has ended since. */
  async wait(provider: string, connection: string, timeoutMs: number): Promise<LoginState | null> {
    const key = `${provider}\0${connection}`;
    const pending = this.#pending.get(key);
    if (!pending) {
      const finished = this.#finished.get(key) ?? null;
      this.#finished.delete(key);
      return finished;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    try {
      const state = await Promise.race([pending.done, timeout]);
      if (state) {
        this.#finished.delete(key);
        return state;
      }
      const shown = await pending.prompt;
      return shown ? pendingState(provider, connection, shown) : pending.done;
    } finally {
      clearTimeout(timer);
    }
  }
}

function pendingState(provider: string, connection: string, shown: Prompt): LoginState {
  if (shown.kind === 'browser') {
    return {
      status: 'pending', provider, connection, login_url: shown.url,
      next: `Ask the person to open ${shown.url} in their browser on this computer and sign in; then call wait_for_login.`,
    };
  }
  const code = shown.code;
  return {
    status: 'pending', provider, connection, verification_uri: code.verificationUri, verification_uri_complete: code.verificationUriComplete,
    user_code: code.userCode, expires_at: code.expiresAt.toISOString(),
    next: `Ask the person to open ${code.verificationUriComplete ?? code.verificationUri} and enter the code ${code.userCode}; then call wait_for_login.`,
  };
}
