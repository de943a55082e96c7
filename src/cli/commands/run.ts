// Wraps a command body: builds the context from the global flags, reports failures through
// Output with the right exit code, and always closes the store.
// The broker (and the store, the native SQLite addon, the OAuth code) is loaded here, when a command
// runs, never when the program is built: `--help`, `--version` and usage errors load none of it.
import type { Command } from 'commander';
import type { CommandContext, GlobalFlags } from '../context.ts';

export type CommandBody<O> = (ctx: CommandContext, args: string[], options: O) => Promise<number | void>;

/**
 * `checksHome: false` is for a command that looks at an unsafe home itself (doctor reports it);
 * every other command is refused before it reads or writes a home that is not the user's own.
 */
export function action<O extends object>(body: CommandBody<O>, { checksHome = true } = {}) {
  return async (...received: unknown[]): Promise<void> => {
    const command = received.at(-1) as Command;
    const options = command.optsWithGlobals() as O & GlobalFlags;
    // Variadic arguments (run's command) arrive as one array.
    const args = received.slice(0, -2).flat().filter((a): a is string => typeof a === 'string');
    const { createContext, requireSafeHome } = await import('../context.ts');
    const ctx = createContext(options);
    try {
      if (checksHome) requireSafeHome(ctx.settings.home);
      const code = await body(ctx, args, options);
      process.exitCode = code ?? 0;
    } catch (error) {
      process.exitCode = ctx.out.error(error);
    } finally {
      await ctx.authsome.close().catch(() => undefined);
    }
  };
}
