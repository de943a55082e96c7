// The account behind a token from the provider's userinfo URL (OIDC UserInfo, or an API's "me"
// endpoint such as GitHub's /user), for providers whose token response carries no id_token.
import type { OAuthTransport } from './transport.ts';
import { accountFromClaims } from './tokens.ts';
import * as oauth from 'oauth4webapi';

export async function fetchAccount(userinfoUrl: string, accessToken: string, transport: OAuthTransport): Promise<{ id: string | null; label: string | null } | null> {
  try {
    const options = transport.options(userinfoUrl);
    const response = await options[oauth.customFetch](userinfoUrl, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    });
    if (!response.ok) return null;
    const body = (await response.json()) as unknown;
    return body && typeof body === 'object' ? accountFromClaims(body as Record<string, unknown>) : null;
  } catch {
    // The account label is a convenience; a login never fails because of it.
    return null;
  }
}
