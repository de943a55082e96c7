// Logins an agent asks for through `authsome mcp serve`: a device-code login (RFC 8628) whose
// URL and code go back to the agent to show its person, or a client-credentials login where the
// provider's flow is that — run here, in the server's process, so the agent never sees a
// credential. One pending login per connection; waiting for it has a timeout.
import { headlessLogin, toAuthsomeError, type Authsome, type DeviceCodePrompt } from '../broker/index.ts';

/** How a login asked for through the server stands (never a credential). */
export type LoginState =
  | { status: 'pending'; provider: string; connection: string; verification_uri: string; verification_uri_complete: string | null; user_code: string; expires_at: string; next: string }
  | { status: 'connected'; provider: string; connection: string; account: string | null; flow: string }
  | { status: 'failed'; provider: string; connection: string; error: string; message: string; hint: string | null };

interface Pending {
  prompt: Promise<DeviceCodePrompt | null>;
  done: Promise<LoginState>;
}

export class ServeLogins {
  readonly #pending = new Map<string, Pending>();
  /** How each connection's last login ended, until someone waits for it. */
  readonly #finished = new Map<string, LoginState>();

  readonly #authsome: Authsome;

  constructor(authsome: Authsome) {
    this.#authsome = authsome;
  }

  /**
   * Starts the login (or joins the one under way) and answers as soon as there is something for a
   * person to do — the device code — or the login is over (client credentials need no one).
   */
  async request(provider: string, connection: string, flow: 'device_code' | 'client_credentials', replace: boolean): Promise<LoginState> {
    const key = `${provider}\0${connection}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      this.#finished.delete(key);
      let show!: (prompt: DeviceCodePrompt | null) => void;
      const prompt = new Promise<DeviceCodePrompt | null>((resolve) => (show = resolve));
      const done = this.#authsome.loginWithOAuth(provider, headlessLogin({ onDeviceCode: (p) => show(p) }), { flow, connection, force: replace })
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
    const code = await Promise.race([pending.prompt, pending.done.then(() => null)]);
    return code ? pendingState(provider, connection, code) : pending.done;
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
      const code = await pending.prompt;
      return code ? pendingState(provider, connection, code) : pending.done;
    } finally {
      clearTimeout(timer);
    }
  }
}

function pendingState(provider: string, connection: string, code: DeviceCodePrompt): LoginState {
  return {
    status: 'pending', provider, connection, verification_uri: code.verificationUri, verification_uri_complete: code.verificationUriComplete,
    user_code: code.userCode, expires_at: code.expiresAt.toISOString(),
    next: `Ask the person to open ${code.verificationUriComplete ?? code.verificationUri} and enter the code ${code.userCode}; then call wait_for_login.`,
  };
}
