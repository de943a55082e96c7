// Wraps a command body: builds the context from the global flags, reports failures through
// Output with the right exit code, and always closes the store.
import type { Command } from 'commander';
import { createContext, type CommandContext, type GlobalFlags } from '../context.ts';

export type CommandBody<O> = (ctx: CommandContext, args: string[], options: O) => Promise<number | void>;

export function action<O extends object>(body: CommandBody<O>) {
  return async (...received: unknown[]): Promise<void> => {
    const command = received.at(-1) as Command;
    const options = command.optsWithGlobals() as O & GlobalFlags;
    // Variadic arguments (run's command) arrive as one array.
    const args = received.slice(0, -2).flat().filter((a): a is string => typeof a === 'string');
    const ctx = createContext(options);
    try {
      const code = await body(ctx, args, options);
      process.exitCode = code ?? 0;
    } catch (error) {
      process.exitCode = ctx.out.error(error);
    } finally {
      await ctx.authsome.close().catch(() => undefined);
    }
  };
}
