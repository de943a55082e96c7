// mcp connect: a stdio MCP client's door to a remote MCP server (what mcp-remote does), with the
// token from the vault. The client owns stdin and stdout, so everything for people — the login
// link, warnings, errors — goes to stderr.
import type { Command } from 'commander';
import { mcpGroup } from './mcp-group.ts';
import { redactor } from '../../audit/index.ts';
import { AuthsomeError } from '../../util/index.ts';
import type { CommandContext } from '../context.ts';
import { action } from './run.ts';

interface ConnectOptions {
  connection?: string;
  login?: boolean;
  browser?: boolean;
}

export function registerMcpConnect(program: Command): void {
  mcpGroup(program)
    .command('connect <url-or-provider>')
    .description('relay a stdio MCP client to a remote (Streamable HTTP) MCP server, adding the token from the vault; logs in first when needed')
    .option('--connection <name>', 'connection name', 'default')
    .option('--no-login', 'fail instead of logging in when there is no connection yet')
    .option('--no-browser', 'print the login link on stderr, never open a browser')
    .action(action<ConnectOptions>(async (ctx, [target], options) => {
      const connection = options.connection ?? 'default';
      const { provider, url } = await resolveTarget(ctx, target!, connection, options);
      const { runBridge } = await import('../../mcp/index.ts');
      // Loaded when the command runs: `--help` and the other commands' start-up never load the broker.
      const { RESYNC } = await import('../../broker/index.ts');
      const { authsome } = ctx;
      const current = async () => {
        const injection = await authsome.injection(provider, { connection });
        return { headers: injection.headers, credential: injection.credential, obtainedAt: injection.obtainedAt, renewAt: injection.renewAt };
      };
      // Logged and audited without the query: a hosted server's URL may carry a key there.
      const { origin, pathname } = new URL(url);
      const shown = `${origin}${pathname}`;
      authsome.debug(`mcp: relaying stdio to ${shown} with ${provider} (${connection})`);
      return runBridge({
        url: new URL(url),
        credentials: {
          current,
          refresh: async () => {
            const result = await authsome.refresh(provider, { connection });
            // A transient failure keeps the old token (with a warning): nothing new to retry with.
            return result.warning ? null : current();
          },
          stepUp: async (scopes) => {
            const record = await authsome.getConnection(provider, { connection });
            const wanted = [...new Set([...(record.scopes ?? []), ...scopes])];
            ctx.out.notice(`${shown} asks for more access (scope ${scopes.join(' ')}); logging in again.`);
            await login(ctx, provider, connection, options, wanted);
            return true;
          },
        },
        log: (line) => authsome.debug(line),
        warn: (line) => ctx.out.warn(line),
        redact: (text) => redactor.redact(text),
        onClose: (stats) => authsome.auditMcpConnect({ url: shown, provider, connection, ...stats }),
        watch: (onChange) => authsome.watchStore((change) => {
          if (change.profile === '*') return change.key === RESYNC.key ? onChange() : undefined;
          if (change.profile === authsome.profile && change.key === `profile:${authsome.profile}:${provider}:connection:${connection}`) onChange();
        }),
      });
    }));
}

/** The provider and the MCP endpoint: from a URL (its provider saved by `login <url>`) or a provider name. */
async function resolveTarget(ctx: CommandContext, target: string, connection: string, options: ConnectOptions): Promise<{ provider: string; url: string }> {
  const { authsome } = ctx;
  const { requireSecureEndpoint } = await import('../../mcp/index.ts');
  if (/^https?:\/\//i.test(target)) {
    const url = requireSecureEndpoint(target).href;
    const known = await authsome.providerForResource(url);
    if (known && (await authsome.hasConnection(known, { connection }))) return { provider: known, url };
    refuseWithoutLogin(options, target, connection);
    const result = await login(ctx, url, connection, options);
    return { provider: result.provider, url };
  }
  const { definition } = await authsome.inspect(target);
  const metadata = (definition.metadata ?? {}) as Record<string, unknown>;
  const endpoint = [metadata.derived_from, definition.oauth?.resource, definition.host_url].find((value): value is string => typeof value === 'string' && /^https?:\/\//i.test(value));
  if (!endpoint) {
    throw new AuthsomeError('usage', `${target} names no MCP server URL (no oauth.resource or http(s) host_url)`, {
      hint: 'Pass the server\'s URL instead: authsome mcp connect https://mcp.example.com/mcp', provider: target,
    });
  }
  requireSecureEndpoint(endpoint);
  if (!(await authsome.hasConnection(target, { connection }))) {
    refuseWithoutLogin(options, target, connection);
    await login(ctx, target, connection, options);
  }
  return { provider: target, url: requireSecureEndpoint(endpoint).href };
}

function refuseWithoutLogin(options: ConnectOptions, target: string, connection: string): void {
  if (options.login !== false) return;
  const flag = connection === 'default' ? '' : ` --connection ${connection}`;
  throw new AuthsomeError('credential_missing', `no connection for ${target} yet, and --no-login was given`, { hint: `Log in first: authsome login ${target}${flag}` });
}

/** A login as `authsome login` does it (browser and loopback through the daemon), every word on stderr. */
async function login(ctx: CommandContext, target: string, connection: string, options: ConnectOptions, scopes?: string[]) {
  const { DaemonLogin } = await import('../daemon-login.ts');
  const interaction = new DaemonLogin({
    home: ctx.settings.home, port: ctx.settings.port, env: ctx.env, out: ctx.out, noBrowser: options.browser === false,
    log: (line) => ctx.authsome.debug(line),
  });
  // A step-up is a re-consent with more scopes: never --force, so the person must sign in as the
  // same account (another account would silently replace the connection every process shares).
  const result = await ctx.authsome.loginWithOAuth(target, interaction, { connection, force: false, scopes });
  ctx.out.info(`Connected ${result.provider} (${result.connection}) in profile ${result.profile}.`);
  return result;
}
