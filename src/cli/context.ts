// What every command gets: the Authsome service built from the global flags, and the Output.
// Loaded when a command runs (commands/run.ts), so building the program loads no broker.
import { Authsome, requireSafeHome } from '../broker/index.ts';
import { resolveSettings, type Settings } from '../util/index.ts';
import { Output } from './output.ts';

export { requireSafeHome };

export interface GlobalFlags {
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
  verbose?: boolean;
  profile?: string;
  home?: string;
}

export interface CommandContext {
  authsome: Authsome;
  out: Output;
  flags: GlobalFlags;
  env: NodeJS.ProcessEnv;
  settings: Settings;
}

export function createContext(flags: GlobalFlags): CommandContext {
  const env = process.env;
  const color = flags.color !== false && !env.NO_COLOR && Boolean(process.stderr.isTTY);
  const out = new Output({ json: Boolean(flags.json), quiet: Boolean(flags.quiet), color });
  const settings = resolveSettings(env, { home: flags.home, profile: flags.profile, verbose: flags.verbose || undefined });
  return { authsome: new Authsome({ settings, env, onWarning: (message) => out.warn(message) }), out, flags, env, settings };
}
