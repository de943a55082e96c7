// export: environment variables for scripts, e.g. eval "$(authsome export openai --format shell)".
import { Option, type Command } from 'commander';
import type { ExportedVariable } from '../../broker/index.ts';
import { action } from './run.ts';

type Format = 'env' | 'dotenv' | 'json' | 'shell';

export function registerExport(program: Command): void {
  program
    .command('export [provider]')
    .description('print credentials as environment variables (refresh tokens are never exported)')
    .option('--connection <name>', 'connection name (default: the provider\'s default connection)')
    .addOption(new Option('--format <format>', 'output format').choices(['env', 'dotenv', 'json', 'shell']).default('env'))
    .action(action<{ connection?: string; format: Format }>(async ({ authsome, out }, [provider], options) => {
      const { variables, warnings } = await authsome.export(provider, options.connection ? { connection: options.connection } : {});
      for (const warning of warnings) out.warn(warning);
      const format = out.json ? 'json' : options.format;
      out.raw(render(variables, format).replace(/\n$/, ''));
    }));
}

export function render(variables: ExportedVariable[], format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(Object.fromEntries(variables.map((v) => [v.name, v.value])), null, 2);
    case 'shell':
      // Single quotes keep every character literal; a quote itself is closed, escaped and reopened.
      return variables.map((v) => `export ${v.name}='${v.value.replace(/'/g, `'\\''`)}'`).join('\n');
    case 'dotenv':
      return variables.map((v) => `${v.name}="${v.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join('\n');
    default:
      return variables.map((v) => `${v.name}=${v.value}`).join('\n');
  }
}
