// export: environment variables for scripts, e.g. eval "$(authsome export openai --format shell)".
// Every format is quoted so that no value can be read as anything but itself (env-quoting.ts).
import { Option, type Command } from 'commander';
import type { ExportedVariable } from '../../broker/index.ts';
import { AuthsomeError } from '../../util/index.ts';
import { dotenvValue, shellQuote, shellWord } from '../env-quoting.ts';
import { action } from './run.ts';

type Format = 'env' | 'dotenv' | 'json' | 'shell';

export function registerExport(program: Command): void {
  program
    .command('export [provider]')
    .description('print credentials as environment variables, quoted for shells and dotenv loaders (refresh tokens are never exported)')
    .option('--connection <name>', 'connection name (default: the provider\'s default connection)')
    .addOption(new Option('--format <format>', 'output format (default: env; --json is --format json)').choices(['env', 'dotenv', 'json', 'shell']))
    .action(action<{ connection?: string; format?: Format }>(async ({ authsome, out }, [provider], options) => {
      if (out.json && options.format && options.format !== 'json') {
        throw new AuthsomeError('usage', `--json prints JSON, and --format ${options.format} asks for another format: choose one`, { hint: 'Run `authsome export --help` for the formats.' });
      }
      const { variables, warnings } = await authsome.export(provider, options.connection ? { connection: options.connection } : {});
      for (const warning of warnings) out.warn(warning);
      const format = out.json ? 'json' : options.format ?? 'env';
      const { text, skipped } = render(variables, format);
      for (const reason of skipped) out.warn(reason);
      out.raw(text);
    }));
}

/** The variables in one format; a value the format cannot carry safely is left out, with the reason. */
export function render(variables: ExportedVariable[], format: Format): { text: string; skipped: string[] } {
  const skipped: string[] = [];
  switch (format) {
    case 'json':
      return { text: JSON.stringify(Object.fromEntries(variables.map((v) => [v.name, v.value])), null, 2), skipped };
    case 'shell':
      return { text: variables.map((v) => `export ${v.name}=${shellQuote(v.value)}`).join('\n'), skipped };
    case 'dotenv': {
      const lines: string[] = [];
      for (const v of variables) {
        const quoted = dotenvValue(v.value);
        if (quoted === null) skipped.push(`${v.provider}: ${v.name} not exported: its value holds both a quote and one of " $ \` \\, which dotenv loaders and shells read differently; use --format shell or --format json`);
        else lines.push(`${v.name}=${quoted}`);
      }
      return { text: lines.join('\n'), skipped };
    }
    default:
      return { text: variables.map((v) => `${v.name}=${shellWord(v.value)}`).join('\n'), skipped };
  }
}
