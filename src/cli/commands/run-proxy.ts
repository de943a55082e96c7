// run: execute a command behind the credential-injecting proxy; the child never holds a secret.
import type { Command } from 'commander';
import { routeChoice } from './route.ts';
import { action } from './run.ts';

interface RunCommandOptions {
  only?: string;
  connection?: string[];
}

export function registerRunProxy(program: Command): void {
  program
    .command('run')
    .description('run a command whose HTTPS requests get each provider\'s credential added by a local proxy')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--only <providers>', 'route only these providers (comma-separated)')
    .option('--connection <provider=name>', 'use this connection for a provider (repeatable)', (value: string, all: string[] = []) => [...all, value])
    .action(action<RunCommandOptions>(async ({ authsome, env, settings, out }, command, options) => {
      const { only, connections } = routeChoice(options);
      const { routes, skipped } = await authsome.proxyRoutes({ only, connections });
      for (const s of skipped) authsome.debug(`proxy: not routed: ${s.provider} (${s.connection}): ${s.reason}`);
      const [{ runBehindProxy }, { RESYNC }, { redactor }] = await Promise.all([import('../../proxy/index.ts'), import('../../broker/index.ts'), import('../../audit/index.ts')]);
      return runBehindProxy({
        home: settings.home,
        command,
        routes,
        env,
        connectTo: testConnectTo(env, (message) => out.warn(message)),
        testAnySni: testAnySni(env, (message) => out.warn(message)),
        credentials: {
          injection: (provider, connection) => authsome.injection(provider, { connection }),
          refresh: async (provider, connection) => {
            const result = await authsome.refresh(provider, { connection });
            // A transient failure leaves the old token (with a warning): nothing new to replay with.
            return result.warning ? null : authsome.injection(provider, { connection });
          },
          watch: (onChange) => authsome.watchStore((change) => {
            // While the feed is down, the credentials held stay in use; after it, re-read them all.
            if (change.profile === '*') return change.key === RESYNC.key ? onChange(null) : undefined;
            const key = /^profile:([^:]+):([^:]+):connection:([^:]+)$/.exec(change.key);
            if (key && key[1] === authsome.profile) onChange({ provider: key[2]!, connection: key[3]! });
          }),
        },
        log: (line) => authsome.debug(line),
        warn: (line) => out.warn(line),
        redact: (text) => redactor.redact(text),
        audit: (fields) => authsome.auditRun(fields),
      });
    }));
}

/**
 * AUTHSOME_PROXY_CONNECT_TO sends a routed host's upstream connection to another address (curl's
 * --connect-to), so tests need no DNS. Outside tests it would let whatever sets one variable — a
 * sourced file, a CI setting — redirect credentialed requests; so it is honoured only together
 * with AUTHSOME_TESTING=1, which the test suite sets, and said to be ignored otherwise.
 */
function testConnectTo(env: NodeJS.ProcessEnv, warn: (message: string) => void): string | undefined {
  const value = env.AUTHSOME_PROXY_CONNECT_TO;
  if (!value) return undefined;
  if (env.AUTHSOME_TESTING === '1') return value;
  warn('AUTHSOME_PROXY_CONNECT_TO is a test-only switch and is ignored (it is honoured only with AUTHSOME_TESTING=1, which the test suite sets)');
  return undefined;
}

/**
 * AUTHSOME_PROXY_TEST_ANY_SNI=1 makes the proxy mint a leaf for whatever name a client's SNI asks
 * for, as it did before a run's leaves were limited to its routed hosts: the test that proves the
 * child itself rejects a leaf outside the run CA's names needs such a leaf. Tests only, like
 * AUTHSOME_PROXY_CONNECT_TO.
 */
function testAnySni(env: NodeJS.ProcessEnv, warn: (message: string) => void): boolean {
  if (!env.AUTHSOME_PROXY_TEST_ANY_SNI) return false;
  if (env.AUTHSOME_TESTING === '1') return true;
  warn('AUTHSOME_PROXY_TEST_ANY_SNI is a test-only switch and is ignored (it is honoured only with AUTHSOME_TESTING=1, which the test suite sets)');
  return false;
}
