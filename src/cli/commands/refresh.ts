// refresh: renew an OAuth connection now, through the same protocol every reader uses.
import type { Command } from 'commander';
import { action } from './run.ts';

export function registerRefresh(program: Command): void {
  program
    .command('refresh <provider>')
    .description('renew an OAuth connection\'s access token now, due or not (every access call — get, export, run, the library — renews it when due)')
    .option('--connection <name>', 'connection name (default: the provider\'s default connection)')
    .action(action<{ connection?: string }>(async ({ authsome, out }, [provider], options) => {
      const result = await authsome.refresh(provider!, options.connection ? { connection: options.connection } : {});
      out.result(result, result.warning
        ? `Not refreshed: ${result.warning}.`
        : result.refreshed
          ? `Refreshed ${result.provider} (${result.connection}); the access token expires at ${result.expires_at ?? 'an unknown time'}.`
          : `${result.provider} (${result.connection}) was just refreshed by another process; its access token expires at ${result.expires_at ?? 'an unknown time'}.`);
      // A transient failure kept the old token: not a success for someone who asked for a new one.
      return result.warning ? 6 : 0;
    }));
}
