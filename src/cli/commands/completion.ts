// completion: the script that makes a shell complete authsome's commands, options, provider and
// connection names (see ../completion.ts for how the candidates are found).
import { Argument, type Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.ts';
import { action } from './run.ts';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action(action(async ({ out }, [shell]) => {
      out.raw(completionScript(shell as Shell).trimEnd());
    }, { checksHome: false }));
}
