// The set-up the refresh tests share: the real test authorization server (hour-long tokens, so a
// fresh token is never itself due), the token gate in front of its token endpoint, and a home
// whose test provider sends its token requests through the gate. close() stops all three and,
// when asked, first checks that no token the server issued reached the home's logs.
import { join } from 'node:path';
import { startAuthServer, type AuthServer } from './auth-server.ts';
import { assertNoTokenIn } from './canary.ts';
import { oauthHome, testProvider, type OAuthHome } from './oauth-home.ts';
import { startTokenGate, type TokenGate } from './token-gate.ts';

export interface GatedOAuth {
  as: AuthServer;
  gate: TokenGate;
  h: OAuthHome;
  /** (Re-)registers the test provider through the gate, with these definition overrides. */
  registerGated(overrides?: Record<string, unknown>): Promise<string>;
  close(options?: { checkCanaries?: boolean }): Promise<void>;
}

export async function startGatedOAuth(homeEnv: Record<string, string> = {}): Promise<GatedOAuth> {
  const as = await startAuthServer({ accessTokenTtl: 3600 });
  const gate = await startTokenGate(`${as.issuer}/token`);
  const h = await oauthHome(homeEnv);
  const registerGated = (overrides: Record<string, unknown> = {}) => {
    const { oauth, ...rest } = overrides as { oauth?: Record<string, unknown> };
    return h.register(testProvider(as, { ...rest, oauth: { token_url: gate.url, ...oauth } }));
  };
  await registerGated();
  return {
    as, gate, h, registerGated,
    async close({ checkCanaries = false } = {}) {
      try {
        if (checkCanaries) await assertNoTokenIn([join(h.home, 'audit.log'), join(h.home, 'logs')], await as.issuedTokens());
      } finally {
        await h.cleanup();
        await gate.close();
        await as.close();
      }
    },
  };
}
