#!/usr/bin/env node
// The authsome CLI: parse arguments, run one command against the Authsome service, print the
// result, exit with the code from the error table. Commands live in ./commands, one per file.
import { CommanderError } from 'commander';
import { excludeMemoryFromCoreDumps } from '../util/index.ts';
import { complete, homeNames } from './completion.ts';
import { Output } from './output.ts';
import { buildProgram } from './program.ts';

/**
 * A reader of stdout that goes away (`authsome list --json | head -1`) ends the command quietly
 * with 141, the status a shell reports for a writer killed by SIGPIPE (Node ignores the signal
 * itself, so the write fails with EPIPE instead). Any other failure to write stdout (a full device)
 * is one line on stderr and exit 1, never a stack trace. A stderr that goes away is only stopped
 * being written to: `run` and the MCP doors still clean up (the run's CA file, the session's DELETE,
 * the audit entry) and end on their own.
 */
function endQuietlyWhenOutputCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(141);
    try {
      process.stderr.write(`Error: cannot write to standard output: ${error.message}\n`);
    } catch { /* stderr is gone too */ }
    process.exit(1);
  });
  process.stderr.on('error', () => {
    // Nothing more can be said there; what is left of the command goes on without it.
    process.stderr.write = () => true;
  });
}

/** `authsome __complete <index> <words…>`: the shell scripts' question (see completion.ts); one candidate a line. */
async function completeWords(args: string[]): Promise<number> {
  const index = Number.parseInt(args[0] ?? '', 10);
  const words = args.slice(1);
  if (!Number.isInteger(index) || index < 1) return 0;
  // The words may carry --home or --profile: names come from the home and profile they name.
  const flag = (name: string) => {
    const at = words.indexOf(name);
    return at > 0 && at + 1 < index ? words[at + 1] : words.find((w) => w.startsWith(`${name}=`))?.slice(name.length + 1);
  };
  const home = flag('--home');
  const profile = flag('--profile');
  const { createContext, requireSafeHome } = await import('./context.ts');
  const ctx = createContext({ ...(home ? { home } : {}), ...(profile ? { profile } : {}) });
  const names = homeNames(() => {
    requireSafeHome(ctx.settings.home);
    return ctx.authsome;
  }, ctx.settings.home);
  const candidates = await complete(buildProgram(), words, index, names).finally(() => ctx.authsome.close().catch(() => undefined));
  if (candidates.length) process.stdout.write(candidates.join('\n') + '\n');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  // Before any secret is decrypted: this process — a command, the daemon (`daemon serve`), run's
  // proxy — keeps its memory out of core dumps (Linux; util/core-dumps.ts says what is possible elsewhere).
  excludeMemoryFromCoreDumps();
  endQuietlyWhenOutputCloses();
  if (argv[2] === '__complete') return completeWords(argv.slice(3));
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
