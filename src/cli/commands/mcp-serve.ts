// mcp serve: an MCP server on stdio for agents that must ask for access (src/mcp/serve.ts). stdout
// belongs to the protocol: nothing else is printed there; --verbose lines go to stderr.
import type { Command } from 'commander';
import type { LoginInteraction, PendingCallback } from '../../broker/index.ts';
import { mcpGroup } from './mcp-group.ts';
import { action } from './run.ts';

interface ServeCommandOptions {
  allowProvider?: string[];
  allowHost?: string[];
  allowMethod?: string[];
}

const collect = (value: string, all: string[] = []) => [...all, value];

export function registerMcpServe(program: Command): void {
  mcpGroup(program)
    .command('serve')
    .description('an MCP server on stdio: tools to list connections, ask a person to log in, and send HTTP requests with a connection\'s credential added (the agent never receives it)')
    .option('--allow-provider <name>', 'only this provider\'s connections may be listed, logged in or used (repeatable)', collect)
    .option('--allow-host <host>', 'only requests to this host (or *.example.com) may be sent (repeatable)', collect)
    .option('--allow-method <method>', 'only this HTTP method may be sent (repeatable)', collect)
    .action(action<ServeCommandOptions>(async ({ authsome, out, env, settings }, _args, options) => {
      const { serveMcp, servePolicy } = await import('../../mcp/index.ts');
      const { DaemonLogin } = await import('../daemon-login.ts');
      const policy = servePolicy(options);
      // A browser login's start link goes to the agent (to show its person), never to a browser
      // this process opens: the daemon receives the callback as for `authsome login`.
      const browserLogin = (onStartLink: (url: string) => void): LoginInteraction =>
        linkLogin(new DaemonLogin({ home: settings.home, port: settings.port, env, out, noBrowser: true, log: (line) => authsome.debug(line) }), onStartLink);
      await serveMcp({ authsome, policy, browserLogin, log: (line) => authsome.debug(line) });
      return 0;
    }));
}

/** The daemon's login interaction, with the start link handed over instead of printed or opened. */
function linkLogin(daemon: LoginInteraction, onStartLink: (url: string) => void): LoginInteraction {
  return {
    get attended() { return daemon.attended; },
    redirectUri: () => daemon.redirectUri(),
    expectCallback: (state, provider, authorizationUrl) => daemon.expectCallback(state, provider, authorizationUrl),
    openAuthorizationUrl: (pending: PendingCallback) => onStartLink(pending.startUrl),
    showDeviceCode: (code, provider) => daemon.showDeviceCode(code, provider),
    collectInput: (request) => daemon.collectInput(request),
    info: (message) => daemon.info(message),
    loginFinished: (outcome) => daemon.loginFinished(outcome),
  };
}
