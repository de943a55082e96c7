#!/usr/bin/env node
// The authsome CLI: parse arguments, run one command against the Authsome service, print the
// result, exit with the code from the error table. Commands live in ./commands, one per file.
import { Command, CommanderError, Option } from 'commander';
import { registerCommands } from './commands/index.ts';
import { Output } from './output.ts';

import { VERSION, excludeMemoryFromCoreDumps } from '../util/index.ts';

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
    .exitOverride();
  registerCommands(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  // Before any secret is decrypted: this process — a command, the daemon (`daemon serve`), run's
  // proxy — keeps its memory out of core dumps (Linux; util/core-dumps.ts says what is possible elsewhere).
  excludeMemoryFromCoreDumps();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; everything else commander rejects is a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2;
    }
    const wantsJson = argv.includes('--json');
    return new Output({ json: wantsJson, quiet: false, color: false }).error(error);
  }
}

process.exitCode = await main(process.argv);
