// The CLI's side of a login: the daemon receives the browser's callback and serves the forms and
// the device page, while this process prints what the person needs — the URL, the user code and
// its QR code, a spinner with the time left — and opens the browser where there is one.
import type { DeviceCode, DeviceDisplay, InputRequest, LoginInteraction, LoginOutcome, PendingCallback, PollProgress } from '../broker/index.ts';
import { CALLBACK_PATH, daemonClient, ensureDaemon, type DaemonStatus, type SessionStream } from '../daemon/index.ts';
import { AuthsomeError, VERSION, qrTerminal } from '../util/index.ts';
import { canOpenBrowser, openBrowser } from './browser.ts';
import type { Output } from './output.ts';

export interface DaemonLoginOptions {
  home: string;
  port: number;
  env: NodeJS.ProcessEnv;
  out: Output;
  /** Never try to open a browser (--no-browser): print the URL only. */
  noBrowser: boolean;
  log: (line: string) => void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class DaemonLogin implements LoginInteraction {
  readonly #options: DaemonLoginOptions;
  #daemon: Promise<DaemonStatus> | null = null;
  readonly #sessions: SessionStream[] = [];
  #spinner: NodeJS.Timeout | null = null;

  constructor(options: DaemonLoginOptions) {
    this.#options = options;
  }

  get attended(): boolean {
    const { out, env, noBrowser } = this.#options;
    return noBrowser || out.interactive || canOpenBrowser(env);
  }

  #ensure(): Promise<DaemonStatus> {
    const { home, port, env, log } = this.#options;
    this.#daemon ??= ensureDaemon({ home, port, version: VERSION, entry: process.argv[1]!, env, log }).then(({ status, started }) => {
      log(`${started ? 'started' : 'reusing'} daemon pid ${status.pid} on 127.0.0.1:${status.port}`);
      return status;
    });
    return this.#daemon;
  }

  async redirectUri(): Promise<string> {
    const { port } = await this.#ensure();
    return `http://127.0.0.1:${port}${CALLBACK_PATH}`;
  }

  async expectCallback(state: string, provider: string, authorizationUrl: string): Promise<PendingCallback> {
    const stream = await this.#open({ kind: 'callback', provider, state, authorization_url: authorizationUrl });
    if (!stream.url) throw new AuthsomeError('internal', 'the daemon gave no start link for the login', { hint: 'See `authsome daemon logs`.' });
    const startUrl = stream.url;
    const params = stream.next().then((event) => {
      if (event.type === 'result' && event.params) return new URLSearchParams(event.params);
      throw sessionError(event.type === 'error' ? event : { error: 'internal', message: 'unexpected answer from the daemon' }, provider);
    });
    params.catch(() => undefined); // observed by the broker; never an unhandled rejection here
    return { params, startUrl, launchUrl: stream.launchUrl ?? null, cancel: () => undefined };
  }

  /**
   * Prints the daemon's start link, not the authorization URL: the start link binds the login to
   * the browser that opens it (a cookie the callback must bring back), then goes on to the provider.
   * A terminal is the person's own, so the link may be printed; the browser's command line gets a local page.
   */
  async openAuthorizationUrl(pending: PendingCallback, url: string, provider: string): Promise<void> {
    const { out } = this.#options;
    const start = pending.startUrl;
    // --verbose only (the person's own terminal): what the start link asks the provider for.
    this.#options.log(`authorization request: ${url}`);
    out.notice(`To log in to ${provider}, open this URL in a browser:\n\n  ${start}\n\nIt goes on to ${new URL(url).host} to sign in; finish in that same browser.`);
    await this.#tryBrowser(pending.launchUrl ?? null, provider);
    out.notice('Waiting for the browser to finish (Ctrl-C to cancel)…');
  }

  async showDeviceCode(code: DeviceCode, provider: string): Promise<DeviceDisplay> {
    const { out } = this.#options;
    const link = code.verificationUriComplete ?? code.verificationUri;
    out.notice(`To log in to ${provider}, open ${code.verificationUri} on any device and enter the code:\n\n    ${code.userCode}\n`);
    if (code.verificationUriComplete) out.notice(`Or open this link, which carries the code: ${code.verificationUriComplete}`);
    if (out.interactive) out.notice((await qrTerminal(link)) + '\n');
    // The daemon's page (code, copy button, QR) helps when this machine has a browser; a device
    // login must still work where no daemon can run, so this part is best effort.
    const page = await this.#open({
      kind: 'device', provider, title: `Log in to ${provider}`, user_code: code.userCode, verification_uri: code.verificationUri,
      verification_uri_complete: code.verificationUriComplete, expires_in: Math.round((code.expiresAt.getTime() - Date.now()) / 1000),
    }).catch((error: unknown) => {
      this.#options.log(`no device page: ${(error as Error).message}`);
      return null;
    });
    if (page?.url) out.notice(`This computer's page for it: ${page.url}`);
    const minutes = Math.max(1, Math.round((code.expiresAt.getTime() - Date.now()) / 60_000));
    if (out.interactive) this.#startSpinner(code.expiresAt);
    else out.notice(`Waiting for approval (the code expires in ${minutes} min)…`);
    return { progress: (p) => this.#progress(p) };
  }

  async collectInput(request: InputRequest): Promise<Record<string, string>> {
    const { out } = this.#options;
    const stream = await this.#open({
      kind: 'input', provider: request.provider, title: request.title, intro: request.intro, fields: request.fields,
      redirect_uri: request.redirectUri ?? null, docs_url: request.docsUrl ?? null, await_outcome: Boolean(request.completesLogin),
    });
    out.notice(`Enter the values in this local form (it never leaves this computer):\n\n  ${stream.url}\n`);
    await this.#tryBrowser(stream.launchUrl, request.provider, false);
    // The stream stays open until loginFinished: closing it now would abandon the session.
    const event = await stream.next();
    if (event.type === 'result' && event.values) return event.values;
    throw sessionError(event.type === 'error' ? event : { error: 'internal', message: 'unexpected answer from the daemon' }, request.provider);
  }

  info(message: string): void {
    this.#options.out.info(message);
  }

  async loginFinished(outcome: LoginOutcome): Promise<void> {
    if (this.#spinner) {
      clearInterval(this.#spinner);
      this.#spinner = null;
      this.#options.out.status('');
    }
    const client = daemonClient(this.#options.home, this.#options.log);
    await Promise.all(this.#sessions.map((s) => client.outcome(s.id, outcome).catch(() => undefined)));
    for (const session of this.#sessions.splice(0)) session.close();
  }

  async #open(spec: Parameters<ReturnType<typeof daemonClient>['openSession']>[0]): Promise<SessionStream> {
    await this.#ensure();
    // The page to open the browser with, unless no browser is to be opened (a device page is only printed).
    const launch = !this.#options.noBrowser && spec.kind !== 'device' && canOpenBrowser(this.#options.env);
    const stream = await daemonClient(this.#options.home, this.#options.log).openSession(spec, { launch });
    this.#sessions.push(stream);
    return stream;
  }

  async #tryBrowser(launchUrl: string | null, provider: string, suggestDevice = true): Promise<void> {
    const { out, env, noBrowser } = this.#options;
    if (noBrowser) return;
    const result = await openBrowser(launchUrl, env);
    if (result.opened) {
      this.#options.log(`opened the browser with ${result.command}`);
      return;
    }
    const port = (await this.#ensure()).port;
    out.notice(
      `No browser was opened: ${result.reason}. Open the URL above yourself — on this machine, or on another one ` +
        `that forwards the port (ssh -L ${port}:127.0.0.1:${port} this-host)` +
        (suggestDevice ? `, or log in without a browser here: authsome login ${provider} --flow device_code` : '') + '.',
    );
  }

  #progress(progress: PollProgress): void {
    if (progress.slowedDown) this.#options.out.info(`\nThe provider asked to poll more slowly; now every ${progress.intervalSeconds} s.`);
  }

  #startSpinner(expiresAt: Date): void {
    let frame = 0;
    const draw = () => {
      const secondsLeft = Math.max(0, Math.round((expiresAt.getTime() - Date.now()) / 1000));
      const left = `${Math.floor(secondsLeft / 60)}:${String(secondsLeft % 60).padStart(2, '0')}`;
      this.#options.out.status(`${SPINNER[frame++ % SPINNER.length]} Waiting for approval… ${left} left`);
    };
    draw();
    this.#spinner = setInterval(draw, 100);
    this.#spinner.unref();
  }
}

function sessionError(event: { error: string; message: string }, provider: string): AuthsomeError {
  if (event.error === 'session_expired') return new AuthsomeError('authentication_failed', `${event.message}; nothing was stored`, { hint: `Run the login again: authsome login ${provider}`, provider });
  if (event.error === 'daemon_stopped') {
    // Stopped on purpose (daemon stop, or its home or socket deleted): the log says which.
    return new AuthsomeError('daemon_unavailable', `the authsome daemon stopped while the login to ${provider} was waiting; nothing was stored`, {
      hint: `Log in again: authsome login ${provider} (it starts a new daemon). To see why the daemon stopped: authsome daemon logs`, provider,
    });
  }
  return new AuthsomeError('daemon_unavailable', event.message, { hint: 'See `authsome daemon logs`.', provider });
}
