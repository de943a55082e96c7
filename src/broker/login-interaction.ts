// What an OAuth login needs from the door that started it: a redirect URI with a listener behind
// it, a way to show a URL or a device code, and a form for values that must not be typed into a
// command line. The CLI implements it with the daemon and the terminal; tests and the dashboard
// can bring their own.
import type { DeviceCode, PollProgress } from '../oauth/index.ts';

export interface InputField {
  name: string;
  label: string;
  secret: boolean;
  required: boolean;
  /** A regular expression the value must match (checked by the form and again on save). */
  pattern?: string | null;
  hint?: string | null;
  /** Prefill for non-secret fields only. */
  value?: string | null;
}

export interface InputRequest {
  provider: string;
  title: string;
  intro: string;
  fields: InputField[];
  /** Shown so the person can register it at the provider (OAuth client forms). */
  redirectUri?: string | null;
  docsUrl?: string | null;
  /** The values complete the login (an API key): the page waits to say whether they were saved. */
  completesLogin?: boolean;
}

export interface PendingCallback {
  /** The callback's query parameters (code, state, iss, or error…). */
  readonly params: Promise<URLSearchParams>;
  /**
   * What the person opens: the listener's start link, which binds the login to that browser (a
   * cookie the callback must bring back) and then goes on to the authorization URL.
   */
  readonly startUrl: string;
  /** A local page (0600 file) forwarding to the start link, to open a browser with; null when none was made. */
  readonly launchUrl?: string | null;
  cancel(): void;
}

export interface DeviceDisplay {
  progress(progress: PollProgress): void;
}

export interface LoginOutcome {
  ok: boolean;
  /** One sentence for the browser page still showing the login ("Connected to GitHub as …"). */
  message: string;
}

export interface LoginInteraction {
  /**
   * Whether a person can act on a URL or a form here (a terminal, a browser, or an explicit
   * promise to open printed URLs). Unattended runs fail fast instead of waiting minutes.
   */
  readonly attended: boolean;
  /** The redirect URI our callback listener answers on. */
  redirectUri(): Promise<string>;
  /**
   * Registers the listener for `state`; resolves once a callback could be received. The
   * authorization URL comes along so the listener can send the browser there itself, binding the
   * login to that browser (the daemon's start link).
   */
  expectCallback(state: string, provider: string, authorizationUrl: string): Promise<PendingCallback>;
  /** Sends the person to the login: `pending.startUrl` is what to open (it goes on to `url`): print, open a browser. */
  openAuthorizationUrl(pending: PendingCallback, url: string, provider: string): Promise<void> | void;
  showDeviceCode(code: DeviceCode, provider: string): Promise<DeviceDisplay>;
  /** Asks for values in the local browser form; resolves with what was submitted. */
  collectInput(request: InputRequest): Promise<Record<string, string>>;
  /** Progress lines for people ("Registered a client…"). */
  info(message: string): void;
  /** How the login ended, once it has (stored, or failed and why), for pages still open. */
  loginFinished(outcome: LoginOutcome): Promise<void> | void;
}
