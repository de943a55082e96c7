// A throwaway home wired to the test authorization server: a provider definition for it, an
// environment with a free daemon port and the simulated browser, and cleanup that stops the
// home's daemon so no test leaves a process behind.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthServer } from './auth-server.ts';
import { runCli } from './cli.ts';

const BROWSER_SCRIPT = fileURLToPath(new URL('./browser-command.ts', import.meta.url));
/** $BROWSER for tests: follows the authorization URL like a person's browser would. */
export const SIMULATED_BROWSER = `${process.execPath} --import tsx ${BROWSER_SCRIPT}`;

export interface OAuthHome {
  home: string;
  /** AUTHSOME_HOME, a free daemon port, the simulated browser and the client env vars. */
  env: Record<string, string>;
  /** Writes a provider file and registers it; returns its name. */
  register(definition: Record<string, unknown>): Promise<string>;
  cleanup(): Promise<void>;
}

/** The definition of a provider served by the test authorization server. */
export function testProvider(as: AuthServer, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { oauth, ...rest } = overrides as { oauth?: Record<string, unknown> };
  return {
    schema_version: 1,
    name: 'testas',
    display_name: 'Test AS',
    auth_type: 'oauth2',
    flow: 'pkce',
    oauth: { issuer: as.issuer, scopes: ['openid', 'email', 'offline_access'], ...oauth },
    host_url: new URL(as.apiUrl).host,
    client: { client_id_env: 'TESTAS_CLIENT_ID', client_secret_env: 'TESTAS_CLIENT_SECRET' },
    export: { env: { access_token: 'TESTAS_TOKEN' } },
    ...rest,
  };
}

export async function oauthHome(extraEnv: Record<string, string> = {}): Promise<OAuthHome> {
  // Short: the daemon's Unix socket lives in the home, and socket paths are limited to 107 bytes.
  const home = mkdtempSync(join(tmpdir(), 'as-'));
  // The daemon a login starts renews due connections every AUTHSOME_DAEMON_REFRESH_INTERVAL; a
  // test that makes a token due and then points the token endpoint somewhere must be the only
  // one refreshing it (a scan landing between the two once took the refresh in CI). Tests of the
  // background refresh set their own interval.
  const env: Record<string, string> = {
    AUTHSOME_HOME: home, AUTHSOME_PORT: '0', BROWSER: SIMULATED_BROWSER, TESTAS_CLIENT_ID: 'authsome-public', AUTHSOME_DAEMON_REFRESH_INTERVAL: '600', ...extraEnv,
  };
  let count = 0;
  return {
    home,
    env,
    async register(definition) {
      const file = join(home, `definition-${count++}.json`);
      writeFileSync(file, JSON.stringify(definition));
      const result = await runCli(['register', file, '--force'], { env });
      if (result.code !== 0) throw new Error(`register failed: ${result.stderr}`);
      return String(definition.name);
    },
    async cleanup() {
      await runCli(['daemon', 'stop'], { env });
      rmSync(home, { recursive: true, force: true });
    },
  };
}
