// get: a connection's details (secrets masked) or one field; --show-secret prints the bare value.
import type { Command } from 'commander';
import { table } from '../output.ts';
import { action } from './run.ts';

interface GetOptions {
  connection?: string;
  field?: string;
  showSecret?: boolean;
}

export function registerGet(program: Command): void {
  program
    .command('get <provider>')
    .description('show a connection (secrets masked) or one field of it')
    .option('--connection <name>', 'connection name (default: the provider\'s default connection)')
    .option('--field <name>', 'print one field (status, expires_at, scopes, access_token, api_key, …)')
    .option('--show-secret', 'print secret values instead of masks (audited)')
    .action(action<GetOptions>(async ({ authsome, out }, [provider], options) => {
      const connection = options.connection ? { connection: options.connection } : {};
      if (options.field) {
        const value = await authsome.getField(provider!, options.field, { ...connection, showSecret: Boolean(options.showSecret) });
        if (out.json) out.result(value);
        else out.raw(value == null ? '' : typeof value === 'string' ? value : Array.isArray(value) ? value.join(' ') : JSON.stringify(value));
        return;
      }
      const shown = await authsome.get(provider!, { ...connection, showSecrets: Boolean(options.showSecret) });
      if (out.json) out.result(shown);
      else out.raw(table(Object.entries(shown).map(([key, value]) => [key, value == null ? '-' : typeof value === 'string' ? value : JSON.stringify(value)])));
    }));
}
