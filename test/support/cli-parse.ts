// Parsing a documented command line with the real command tree, without running it: every
// action is replaced by nothing, so unknown options, bad choices and missing arguments throw.
import { CommanderError, type Command } from 'commander';
import { allCommands } from '../../src/cli/help.ts';
import { buildProgram } from '../../src/cli/program.ts';

/** The command tree with every action replaced by nothing: parsing checks options, choices and arguments only. */
export function inertProgram(): Command {
  const program = buildProgram();
  for (const command of [program, ...allCommands(program)]) {
    command.exitOverride((error: CommanderError) => { throw error; });
    command.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    if (command.commands.length === 0) command.action(() => undefined);
  }
  return program;
}

/** The words of the authsome command in an example line (after a pipe, inside $(…), without VAR=… or a redirection). */
export function authsomeWords(example: string): string[] {
  const start = example.lastIndexOf('authsome ');
  let text = example.slice(start + 'authsome '.length).split(/\s\|\s/)[0]!;
  text = text.replace(/\)"?\s*$/, '').replace(/\s*>\s*\S+\s*$/, '');
  const words: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}
