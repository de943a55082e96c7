// Device authorization grant (RFC 8628): ask for a user code, then poll the token endpoint at the
// server's pace — `interval` (default 5 s, §3.2), 5 s more on each slow_down (§3.5) — until the
// person approves, denies, or the code expires.
import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';
import type { ProviderDefinition } from '../providers/index.ts';
import { AuthsomeError } from '../util/index.ts';
import type { OAuthClient } from './client.ts';
import { OAuthError, toOAuthError } from './errors.ts';
import { setAsideUnverifiableIdToken } from './id-token.ts';
import type { ResolvedServer } from './server.ts';
import { checkTokenValues, grantParameters, idTokenClaims, type TokenResponse } from './tokens.ts';
import type { OAuthTransport } from './transport.ts';

export interface DeviceCode {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  expiresAt: Date;
  intervalSeconds: number;
}

export interface PollProgress {
  /** Seconds until the device code expires. */
  secondsLeft: number;
  intervalSeconds: number;
  /** The server asked us to slow down on this poll. */
  slowedDown: boolean;
}

const DEFAULT_INTERVAL_SECONDS = 5; // RFC 8628 §3.2

export async function requestDeviceCode(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  options: { scopes: readonly string[]; resource?: string | null },
  transport: OAuthTransport,
): Promise<DeviceCode> {
  const endpoint = server.as.device_authorization_endpoint;
  if (!endpoint) {
    throw new AuthsomeError('flow_unsupported', `${definition.name} does not offer the device code flow`, {
      hint: `Log in with the browser instead: authsome login ${definition.name} --flow pkce`,
      provider: definition.name,
    });
  }
  const parameters = grantParameters(definition, options);
  try {
    const response = await oauth.deviceAuthorizationRequest(server.as, client.client, client.auth, parameters, transport.options(endpoint));
    const result = await oauth.processDeviceAuthorizationResponse(server.as, client.client, response);
    return {
      deviceCode: result.device_code,
      userCode: result.user_code,
      verificationUri: result.verification_uri,
      verificationUriComplete: result.verification_uri_complete ?? null,
      expiresAt: new Date(Date.now() + result.expires_in * 1000),
      intervalSeconds: result.interval ?? DEFAULT_INTERVAL_SECONDS,
    };
  } catch (error) {
    throw toOAuthError(error, `the device authorization endpoint of ${definition.name}`, 'authentication_failed', { provider: definition.name });
  }
}

export async function pollDeviceCode(
  definition: ProviderDefinition,
  server: ResolvedServer,
  client: OAuthClient,
  code: DeviceCode,
  transport: OAuthTransport,
  options: { signal?: AbortSignal; onProgress?: (progress: PollProgress) => void; firstPollDelayMs?: number } = {},
): Promise<TokenResponse> {
  const endpoint = server.as.token_endpoint!;
  let interval = code.intervalSeconds;
  let slowedDown = false;
  let delayMs = options.firstPollDelayMs ?? interval * 1000;
  for (;;) {
    const secondsLeft = Math.max(0, Math.round((code.expiresAt.getTime() - Date.now()) / 1000));
    options.onProgress?.({ secondsLeft, intervalSeconds: interval, slowedDown });
    if (Date.now() + delayMs >= code.expiresAt.getTime()) throw expired(definition);
    await sleep(delayMs, undefined, { signal: options.signal });
    delayMs = interval * 1000;
    slowedDown = false;
    try {
      const response = await oauth.deviceCodeGrantRequest(server.as, client.client, client.auth, code.deviceCode, transport.options(endpoint));
      const { response: checked, claims } = await setAsideUnverifiableIdToken(response, server);
      const tokens = checkTokenValues(await oauth.processDeviceCodeResponse(server.as, client.client, checked));
      return { tokens, claims: claims ?? idTokenClaims(tokens) };
    } catch (error) {
      const failure = toOAuthError(error, `the token endpoint of ${definition.name}`, 'authentication_failed', { provider: definition.name });
      if (!(failure instanceof OAuthError)) throw failure;
      if (failure.error === 'authorization_pending') continue;
      if (failure.error === 'slow_down') {
        interval += 5; // RFC 8628 §3.5
        delayMs = interval * 1000;
        slowedDown = true;
        continue;
      }
      if (failure.error === 'expired_token') throw expired(definition);
      if (failure.error === 'access_denied') {
        throw new OAuthError('authentication_failed', `the login to ${definition.name} was denied on the verification page`, { error: 'access_denied', description: failure.description }, {
          hint: `Nothing was stored. To try again: authsome login ${definition.name} --flow device_code`,
          provider: definition.name,
        });
      }
      throw failure;
    }
  }
}

function expired(definition: ProviderDefinition): OAuthError {
  return new OAuthError('authentication_failed', `the device code for ${definition.name} expired before it was approved`, { error: 'expired_token' }, {
    hint: `Nothing was stored. Start again and enter the new code sooner: authsome login ${definition.name} --flow device_code`,
    provider: definition.name,
  });
}
