// login: an API key from --api-key-stdin, the provider's env var, or a masked prompt on a TTY.
// OAuth flows arrive with the daemon. A secret is never accepted as a command-line argument.
import type { Command } from 'commander';
import { apiKeyEnvVar } from '../../broker/index.ts';
import { AuthsomeError } from '../../util/index.ts';
import { canPrompt, promptSecret, readAllStdin } from '../prompt.ts';
import { action } from './run.ts';

interface LoginOptions {
  connection?: string;
  force?: boolean;
  apiKeyStdin?: boolean;
}

export function registerLogin(program: Command): void {
  program
    .command('login <provider>')
    .description('store a credential for a provider (API keys: stdin, env var or masked prompt)')
    .option('--connection <name>', 'connection name', 'default')
    .option('--force', 'replace an existing connection')
    .option('--api-key-stdin', 'read the API key from standard input')
    .action(action<LoginOptions>(async ({ authsome, out, env }, [provider], options) => {
      const { definition } = await authsome.inspect(provider!);
      const name = definition.display_name ?? definition.name;
      const envVar = apiKeyEnvVar(definition);
      let apiKey: string;
      let via: 'stdin' | 'env' | 'prompt';
      if (options.apiKeyStdin) {
        apiKey = await readAllStdin();
        via = 'stdin';
      } else if (definition.auth_type === 'api_key' && envVar && env[envVar]) {
        apiKey = env[envVar]!;
        via = 'env';
        out.info(`Using the API key from $${envVar}.`);
      } else if (definition.auth_type !== 'api_key') {
        throw new AuthsomeError('flow_unsupported', `${provider} logs in with OAuth (${definition.flow}), which needs the authsome daemon; this build stores API keys only`, {
          hint: 'OAuth login (PKCE, device code, DCR) arrives with the daemon.',
          provider,
        });
      } else if (canPrompt()) {
        if (definition.api_key?.key_pattern_hint) out.info(definition.api_key.key_pattern_hint);
        apiKey = await promptSecret(`${name} API key: `);
        via = 'prompt';
      } else {
        const example = `printf '%s' "$KEY" | authsome login ${provider} --api-key-stdin`;
        throw new AuthsomeError('input_required', `no API key given for ${provider}, and there is no terminal to ask on`, {
          hint: `Pass it on stdin (${example})${envVar ? ` or set ${envVar}` : ''}.`,
          provider,
        });
      }
      const result = await authsome.loginWithApiKey(provider!, apiKey, { connection: options.connection, force: Boolean(options.force), via });
      out.result({ ...result, status: 'connected' },
        `${result.replaced ? 'Replaced' : 'Stored'} ${provider} (${result.connection}) in profile ${result.profile}.`);
    }));
}
