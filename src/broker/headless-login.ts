// A LoginInteraction for code with no browser and no terminal (an agent, a CI job, a server): the
// device flow (RFC 8628) — the caller is told the code to show a person, and the login waits for
// them — and client credentials (RFC 6749 §4.4) from values the caller passes, without writing
// the eight callbacks of the interface. A flow that needs a browser's redirect is refused at once.
import { AuthsomeError } from '../util/index.ts';
import type { DeviceCode, PollProgress } from '../oauth/index.ts';
import type { DeviceDisplay, InputRequest, LoginInteraction } from './login-interaction.ts';

/** What a person needs to approve a device login: open `verificationUri` and enter `userCode`. */
export interface DeviceCodePrompt {
  provider: string;
  userCode: string;
  verificationUri: string;
  /** The URL with the code already in it (when the server gives one): opening it is enough. */
  verificationUriComplete: string | null;
  expiresAt: Date;
}

export interface HeadlessLoginOptions {
  /** Shows the device code to a person (print it, send it to a chat). Required for the device flow. */
  onDeviceCode?: (prompt: DeviceCodePrompt) => void | Promise<void>;
  /** Each poll of the device flow, for a progress display. */
  onProgress?: (progress: PollProgress) => void;
  /** The OAuth client, when neither the provider's variables nor an earlier login gives one. */
  client?: { clientId: string; clientSecret?: string };
  /** The instance URL of a self-hosted provider (`{base_url}`), when the definition needs one. */
  baseUrl?: string;
  /** Progress lines ("Registered a client…"); ignored by default. */
  onInfo?: (message: string) => void;
}

/**
 * The interaction for `loginWithOAuth(provider, headlessLogin({ … }), { flow: 'device_code' })`
 * or `{ flow: 'client_credentials' }`. It answers the client form from `client` and `baseUrl` and
 * says which is missing when a field has no value.
 */
export function headlessLogin(options: HeadlessLoginOptions = {}): LoginInteraction {
  const noBrowser = (provider: string) => new AuthsomeError('flow_unsupported', `a headless login to ${provider} cannot receive a browser's redirect`, {
    hint: 'Use the device flow ({ flow: "device_code" } with onDeviceCode) or client credentials ({ flow: "client_credentials" }), or log in once with `authsome login` in a terminal.',
    provider,
  });
  return {
    // Someone acts on what onDeviceCode shows, or the caller brought the client: the login may go on.
    attended: Boolean(options.onDeviceCode || options.client || options.baseUrl),
    // Shown only in the client form, which this interaction answers itself; a flow that would send
    // a browser to it is refused at expectCallback.
    redirectUri: async () => 'http://127.0.0.1:7998/auth/callback/oauth',
    expectCallback: (_state, provider) => Promise.reject(noBrowser(provider)),
    openAuthorizationUrl: (_pending, _url, provider) => {
      throw noBrowser(provider);
    },
    async showDeviceCode(code: DeviceCode, provider: string): Promise<DeviceDisplay> {
      if (!options.onDeviceCode) {
        throw new AuthsomeError('input_required', `the device login to ${provider} has a code for a person to enter, and no onDeviceCode to show it`, {
          hint: 'Pass headlessLogin({ onDeviceCode: ({ verificationUri, userCode }) => … }).', provider,
        });
      }
      await options.onDeviceCode({ provider, userCode: code.userCode, verificationUri: code.verificationUri, verificationUriComplete: code.verificationUriComplete, expiresAt: code.expiresAt });
      return { progress: (progress) => options.onProgress?.(progress) };
    },
    async collectInput(request: InputRequest): Promise<Record<string, string>> {
      const given: Record<string, string | undefined> = { client_id: options.client?.clientId, client_secret: options.client?.clientSecret, base_url: options.baseUrl };
      const values: Record<string, string> = {};
      for (const field of request.fields) {
        const value = given[field.name];
        if (value) values[field.name] = value;
        else if (field.required) {
          const option = field.name === 'base_url' ? 'baseUrl' : field.name === 'client_id' ? 'client.clientId' : field.name === 'client_secret' ? 'client.clientSecret' : field.name;
          throw new AuthsomeError('input_required', `${request.provider} needs ${field.label.toLowerCase()}, and the headless login was given none`, {
            hint: `Pass it as headlessLogin({ ${option}: … })${field.name.startsWith('client') ? ', or set the provider\'s client variables' : ''}.`, provider: request.provider,
          });
        }
      }
      return values;
    },
    info: (message) => options.onInfo?.(message),
    loginFinished: () => undefined,
  };
}
