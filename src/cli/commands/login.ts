// login: OAuth through the daemon (PKCE in the browser, device code, dynamic registration from an
// MCP server's URL, client credentials), or an API key from stdin, the provider's env var, a
// masked prompt or the local browser form. A secret is never accepted as a command-line argument.
import type { Command } from 'commander';
import type { OAuthFlow } from '../../broker/index.ts';
import type { ProviderDefinition } from '../../broker/index.ts';
import { AuthsomeError } from '../../util/index.ts';
import type { CommandContext } from '../context.ts';
import { canPrompt, promptSecret, readAllStdin } from '../prompt.ts';
import { action } from './run.ts';

interface LoginOptions {
  connection?: string;
  force?: boolean;
  apiKeyStdin?: boolean;
  form?: boolean;
  flow?: OAuthFlow;
  scopes?: string;
  baseUrl?: string;
  tenant?: string;
  name?: string;
  browser?: boolean;
}

const FLOWS: OAuthFlow[] = ['pkce', 'device_code', 'dcr_pkce', 'client_credentials'];

export function registerLogin(program: Command): void {
  program
    .command('login <provider>')
    .description('connect a provider: OAuth in the browser or by device code, or an API key (provider may be an MCP server URL)')
    .option('--connection <name>', 'connection name', 'default')
    .option('--force', 'replace an existing connection')
    .option('--flow <flow>', `OAuth flow instead of the provider's default (${FLOWS.join(', ')})`)
    .option('--scopes <list>', 'scopes to ask for instead of the provider\'s defaults, comma- or space-separated (re-consents a connected provider, no --force needed)')
    .option('--base-url <url>', 'the instance URL for self-hosted providers ({base_url} in their URLs)')
    .option('--tenant <tenant>', 'the directory for providers with {tenant} in their URLs (Microsoft: a tenant ID or domain, organizations, consumers; default common)')
    .option('--name <name>', 'name for a provider derived from a URL')
    .option('--no-browser', 'print URLs, never open a browser')
    .option('--api-key-stdin', 'read the API key from standard input')
    .option('--form', 'type the API key into a local browser form')
    .action(action<LoginOptions>(async (ctx, [provider], options) => {
      if (options.flow && !FLOWS.includes(options.flow)) {
        throw new AuthsomeError('usage', `unknown flow "${options.flow}"`, { hint: `Use one of: ${FLOWS.join(', ')}` });
      }
      const isUrl = /^https?:\/\//i.test(provider!);
      const definition = isUrl ? null : (await ctx.authsome.inspect(provider!)).definition;
      refuseConflictingOptions(provider!, definition?.auth_type === 'api_key' ? 'api_key' : 'oauth2', isUrl, options);
      if (definition?.auth_type === 'api_key') return loginApiKey(ctx, provider!, options);
      const { DaemonLogin } = await import('../daemon-login.ts');
      const interaction = new DaemonLogin({
        home: ctx.settings.home, port: ctx.settings.port, env: ctx.env, out: ctx.out, noBrowser: options.browser === false,
        log: (line) => ctx.authsome.debug(line),
      });
      const result = await ctx.authsome.loginWithOAuth(provider!, interaction, {
        connection: options.connection, force: Boolean(options.force), flow: options.flow, baseUrl: options.baseUrl, tenant: options.tenant, name: options.name,
        scopes: options.scopes ? parseScopes(options.scopes) : undefined,
      });
      const who = result.account.label ?? result.account.id;
      ctx.out.result({ ...result, status: 'connected' }, [
        `${result.replaced ? 'Replaced' : 'Connected'} ${result.provider} (${result.connection})${who ? ` as ${who}` : ''} in profile ${result.profile}.`,
        result.scopes?.length ? `Scopes: ${result.scopes.join(' ')}` : '',
        result.expires_at ? `The access token expires at ${result.expires_at}; authsome refreshes it for you.` : '',
      ].filter(Boolean).join('\n'));
    }));
}

/** Options that cannot apply to this provider are refused, not ignored: the user meant something else. */
function refuseConflictingOptions(provider: string, authType: 'api_key' | 'oauth2', isUrl: boolean, options: LoginOptions): void {
  const help = `Run \`authsome login --help\` for what each option applies to.`;
  const refuse = (message: string) => {
    throw new AuthsomeError('usage', message, { hint: help, provider });
  };
  if (authType === 'oauth2') {
    if (options.apiKeyStdin) refuse(`${provider} signs in with OAuth, not an API key: --api-key-stdin does not apply (log in with: authsome login ${provider})`);
    if (options.form) refuse(`${provider} signs in with OAuth, not an API key: --form does not apply (log in with: authsome login ${provider})`);
  } else {
    if (options.flow) refuse(`${provider} takes an API key: --flow chooses an OAuth flow and does not apply`);
    if (options.scopes) refuse(`${provider} takes an API key: --scopes asks an OAuth provider for scopes and does not apply`);
  }
  if (options.name && !isUrl) refuse(`--name names a provider derived from an MCP server's URL; ${provider} is already a provider name`);
}

/** `repo,user,gist`, `"repo user gist"` or a mix: RFC 6749 §3.3 scopes never contain either separator. */
function parseScopes(list: string): string[] {
  const scopes = [...new Set(list.split(/[\s,]+/).filter(Boolean))];
  if (scopes.length === 0) throw new AuthsomeError('usage', '--scopes needs at least one scope', { hint: 'For example: --scopes repo,user,gist' });
  return scopes;
}

async function loginApiKey(ctx: CommandContext, provider: string, options: LoginOptions): Promise<void> {
  const { authsome, out, env } = ctx;
  if (options.apiKeyStdin && options.form) throw new AuthsomeError('usage', '--api-key-stdin and --form are two ways to give the key: choose one', { hint: `authsome login ${provider} --help` });
  const { definition } = await authsome.inspect(provider);
  const { apiKeyEnvVar, credentialParts } = await import('../../broker/index.ts');
  if (credentialParts(definition) && !options.form) return loginApiKeyParts(ctx, definition, options);
  const name = definition.display_name ?? definition.name;
  const envVar = apiKeyEnvVar(definition);
  let apiKey: string;
  let via: 'stdin' | 'env' | 'prompt';
  if (options.apiKeyStdin) {
    apiKey = await readAllStdin();
    via = 'stdin';
  } else if (options.form) {
    return loginApiKeyWithForm(ctx, provider, options);
  } else if (envVar && env[envVar]) {
    apiKey = env[envVar]!;
    via = 'env';
    out.info(`Using the API key from $${envVar}.`);
  } else if (canPrompt()) {
    if (definition.api_key?.key_pattern_hint) out.info(definition.api_key.key_pattern_hint);
    apiKey = await promptSecret(`${name} API key: `);
    via = 'prompt';
  } else {
    const example = `printf '%s' "$KEY" | authsome login ${provider} --api-key-stdin`;
    throw new AuthsomeError('input_required', `no API key given for ${provider}, and there is no terminal to ask on`, {
      hint: `Pass it on stdin (${example})${envVar ? `, set ${envVar}` : ''}, or type it into a local browser form: authsome login ${provider} --form`,
      provider,
    });
  }
  const result = await authsome.loginWithApiKey(provider, apiKey, { connection: options.connection, force: Boolean(options.force), via });
  out.result({ ...result, status: 'connected' }, `${result.replaced ? 'Replaced' : 'Stored'} ${provider} (${result.connection}) in profile ${result.profile}.`);
}

/** The API key typed into the local form; the page says "Saved" only once it really is. */
async function loginApiKeyWithForm({ authsome, out, env, settings }: CommandContext, provider: string, options: LoginOptions): Promise<void> {
  const connection = options.connection ?? 'default';
  if (!options.force && (await authsome.hasConnection(provider, { connection }))) {
    throw new AuthsomeError('conflict', `${provider} already has a connection "${connection}"; it was not overwritten`, {
      hint: `Pass --force to replace it, or --connection NAME to add another: authsome login ${provider} --form --force`,
      provider,
    });
  }
  const { DaemonLogin } = await import('../daemon-login.ts');
  const interaction = new DaemonLogin({ home: settings.home, port: settings.port, env, out, noBrowser: options.browser === false, log: (line) => authsome.debug(line) });
  const values = await interaction.collectInput(await authsome.apiKeyForm(provider));
  try {
    // {api_key}, or a several-part credential's parts by name.
    const result = await authsome.loginWithApiKey(provider, values, { connection, force: Boolean(options.force), via: 'form' });
    await interaction.loginFinished({ ok: true, message: `Saved the ${provider} API key as connection "${result.connection}".` });
    out.result({ ...result, status: 'connected' }, `${result.replaced ? 'Replaced' : 'Stored'} ${provider} (${result.connection}) in profile ${result.profile}.`);
  } catch (error) {
    await interaction.loginFinished({ ok: false, message: (error as Error).message });
    throw error;
  }
}

/**
 * A credential of several parts (api_key.fields): `name=value` lines on stdin, else each part's
 * variable, else a prompt per part (masked for secret parts). Never an argument: argv is visible to
 * every local user.
 */
async function loginApiKeyParts({ authsome, out, env }: CommandContext, definition: ProviderDefinition, options: LoginOptions): Promise<void> {
  const provider = definition.name;
  const { credentialParts, parsePartsInput } = await import('../../broker/index.ts');
  const parts = credentialParts(definition)!;
  let values: Record<string, string>;
  let via: 'stdin' | 'env' | 'prompt';
  const fromEnv = Object.fromEntries(parts.filter((part) => part.envVar && env[part.envVar]).map((part) => [part.name, env[part.envVar!]!]));
  if (options.apiKeyStdin) {
    values = parsePartsInput(definition, await readAllStdin());
    via = 'stdin';
  } else if (Object.keys(fromEnv).length === parts.length) {
    values = fromEnv;
    via = 'env';
    out.info(`Using ${parts.map((part) => `$${part.envVar}`).join(' and ')}.`);
  } else if (canPrompt()) {
    values = {};
    for (const part of parts) {
      if (part.hint) out.info(part.hint);
      values[part.name] = await promptSecret(`${definition.display_name ?? provider} ${part.label}: `);
    }
    via = 'prompt';
  } else {
    const lines = parts.map((part) => `${part.name}=…`).join('\\n');
    const vars = parts.map((part) => part.envVar).filter(Boolean);
    throw new AuthsomeError('input_required', `no credential given for ${provider}, and there is no terminal to ask on`, {
      hint: `Pass its parts on stdin, one name=value a line (printf '${lines}\\n' | authsome login ${provider} --api-key-stdin)${vars.length === parts.length ? `, set ${vars.join(' and ')}` : ''}, or use the local browser form: authsome login ${provider} --form`,
      provider,
    });
  }
  const result = await authsome.loginWithApiKey(provider, values, { connection: options.connection, force: Boolean(options.force), via });
  out.result({ ...result, status: 'connected' }, `${result.replaced ? 'Replaced' : 'Stored'} ${provider} (${result.connection}) in profile ${result.profile}.`);
}
