// The command tree: global options, every command (./commands), and the help around them.
import { Command, Option } from 'commander';
import { VERSION } from '../util/index.ts';
import { registerCommands } from './commands/index.ts';
import { decorateHelp } from './help.ts';

export function buildProgram(): Command {
  const program = new Command('authsome')
    .description('Local credential broker for AI agents: log in once, hand out fresh credentials, never leak them.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--json', 'machine-readable output'))
    .addOption(new Option('--profile <name>', 'profile to use (default: config.json default_profile; env AUTHSOME_PROFILE)'))
    .addOption(new Option('--home <dir>', 'home folder (default: ~/.authsome; env AUTHSOME_HOME)'))
    .addOption(new Option('-q, --quiet', 'print only results and errors'))
    .addOption(new Option('--no-color', 'never colour output'))
    .addOption(new Option('--verbose', 'debug output on stderr, secrets redacted'))
    .showHelpAfterError('(run `authsome --help` for usage)')
    // Global options may come after the command too, so each command's help lists them.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();
  registerCommands(program);
  decorateHelp(program);
  return program;
}
