// mcp serve: an MCP server on stdio for agents that must ask for access (src/mcp/serve.ts). stdout
// belongs to the protocol: nothing else is printed there; --verbose lines go to stderr.
import type { Command } from 'commander';
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
    .action(action<ServeCommandOptions>(async ({ authsome }, _args, options) => {
      const { serveMcp, servePolicy } = await import('../../mcp/index.ts');
      const policy = servePolicy(options);
      await serveMcp({ authsome, policy, log: (line) => authsome.debug(line) });
      return 0;
    }));
}
