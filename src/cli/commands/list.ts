// list, inspect, register: what providers exist and what state their connections are in.
import type { Command } from 'commander';
import type { ProviderSummary } from '../../broker/index.ts';
import { table } from '../output.ts';
import { readAllStdin } from '../prompt.ts';
import { action } from './run.ts';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('every provider with its auth type and state, per connection with expiry')
    .option('--connected', 'only providers that have connections')
    .action(action<{ connected?: boolean }>(async ({ authsome, out }, _args, options) => {
      const result = await authsome.list();
      for (const problem of result.problems) out.warn(problem);
      const providers = options.connected ? result.providers.filter((p) => p.connections.length > 0) : result.providers;
      // The Python CLI's shape (bundled / custom), extended with state and per-connection detail.
      const json = {
        profile: result.profile,
        bundled: providers.filter((p) => p.source === 'bundled'),
        custom: providers.filter((p) => p.source !== 'bundled'),
      };
      out.result(json, () => renderList(providers));
    }));

  program
    .command('inspect <provider>')
    .description('show a provider definition and where it comes from')
    .action(action(async ({ authsome, out }, [provider]) => {
      const entry = await authsome.inspect(provider!);
      out.result(entry, `# ${entry.source}${entry.overrides_bundled ? ' (overrides the bundled definition)' : ''}: ${entry.path}\n${JSON.stringify(entry.definition, null, 2)}`);
    }));

  program
    .command('register <file>')
    .description('add a provider definition (JSON or JSONC) to the home; - reads it from standard input')
    .option('--force', 'replace a registered provider, override a bundled one, or take a name that still has stored records')
    .action(action<{ force?: boolean }>(async ({ authsome, out }, [file], options) => {
      const force = Boolean(options.force);
      const entry = file === '-'
        ? await authsome.registerText(await readAllStdin(), { force, label: 'standard input', forceHint: (what) => `Pass --force to ${what}: authsome register - --force` })
        : await authsome.register(file!, { force });
      // Installed all the same (Python definitions may carry fields of their own), but a typo such
      // as oauth.refresh_ulr would otherwise be ignored without a word.
      for (const warning of entry.warnings) out.warn(`${file === '-' ? 'standard input' : file}: ${warning.message}`);
      out.result({
        name: entry.name, path: entry.path, overrides_bundled: entry.overrides_bundled, warnings: entry.warnings,
      }, `Registered ${entry.name} (${entry.path})${entry.overrides_bundled ? ', overriding the bundled definition' : ''}.`);
    }));
}

function renderList(providers: ProviderSummary[]): string {
  const rows = [['PROVIDER', 'TYPE', 'STATE', 'CONNECTIONS']];
  for (const p of providers) {
    const connections = p.connections.map((c) => {
      // `!` marks a refresh token that lapses soon: after it, only a new login helps.
      const lapse = c.refresh_expires_at ? `${c.refresh_lapses_soon ? '! ' : ''}refresh token lapses ${c.refresh_expires_at}` : '';
      const details = [c.status, c.expires_at ? `expires ${c.expires_at}` : '', lapse, c.account?.label ?? ''].filter(Boolean).join(', ');
      return `${c.connection_name}${c.default && p.connections.length > 1 ? '*' : ''} (${details})`;
    });
    rows.push([p.name + (p.source === 'custom' ? ' [custom]' : p.source === 'unknown' ? ' [no definition]' : ''), p.auth_type, p.state, connections.join(', ') || '-']);
  }
  return table(rows);
}
