// The `mcp` command group: the doors agents use (connect, serve), each in its own file.
import type { Command } from 'commander';

/** The group, created by whichever mcp subcommand registers first. */
export function mcpGroup(program: Command): Command {
  return program.commands.find((command) => command.name() === 'mcp')
    ?? program.command('mcp').description('MCP doors for agents: a bridge to a remote MCP server (connect) and a server agents ask for access (serve)');
}
