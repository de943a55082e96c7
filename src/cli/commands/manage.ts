// logout, revoke, remove, unregister, set-default: removing connections, provider state and
// custom definitions, and re-pointing connections.
import type { Command } from 'commander';
import type { RemovalResult } from '../../broker/index.ts';
import { action } from './run.ts';

export function registerManage(program: Command): void {
  program
    .command('logout <provider>')
    .description('revoke one connection at the provider (RFC 7009), then remove it')
    .option('--connection <name>', 'connection name (default: the provider\'s default connection)')
    .action(action<{ connection?: string }>(async ({ authsome, out }, [provider], options) => {
      const result = await authsome.logout(provider!, options.connection ? { connection: options.connection } : {});
      out.result(result, [`Removed ${provider} (${result.connections[0]}) from this computer.`, await remoteLines(result)].filter(Boolean).join('\n'));
    }));

  program
    .command('revoke <provider>')
    .description('revoke every connection of a provider at the provider, then remove them and its OAuth client record')
    .action(action(async ({ authsome, out }, [provider]) => {
      const result = await authsome.revoke(provider!);
      out.result(result, [describe('Revoked', result), await remoteLines(result)].filter(Boolean).join('\n'));
    }));

  program
    .command('remove <provider>')
    .description('delete the provider\'s state in this profile (connections, revoked first, and the stored OAuth client); the definition stays')
    .action(action(async ({ authsome, out }, [provider]) => {
      const result = await authsome.remove(provider!);
      out.result(result, [
        describe('Removed', result),
        await remoteLines(result),
        `The ${provider} definition is unchanged; the next login starts afresh: authsome login ${provider}`,
      ].filter(Boolean).join('\n'));
    }));

  program
    .command('unregister <provider>')
    .description('delete a custom provider definition from the home (refused while any profile has connections for it)')
    .option('--force', 'delete it even though profiles still have connections for it')
    .action(action<{ force?: boolean }>(async ({ authsome, out }, [provider], options) => {
      const result = await authsome.unregister(provider!, { force: options.force ?? false });
      for (const left of result.remaining) {
        out.warn(`${provider} still has connections in profile ${left.profile} (${left.connections.join(', ')}); remove them with: authsome remove ${provider} --profile ${left.profile}`);
      }
      out.result(result, [
        `Unregistered ${provider}: deleted ${result.deleted.join(' and ')}.`,
        result.bundled_restored ? `The bundled ${provider} definition applies again (see it with: authsome inspect ${provider}).` : '',
      ].filter(Boolean).join('\n'));
    }));

  program
    .command('set-default <provider> <connection>')
    .description('make a connection the provider\'s default')
    .action(action(async ({ authsome, out }, [provider, connection]) => {
      await authsome.setDefault(provider!, connection!);
      out.result({ provider, default_connection: connection }, `${provider} now uses connection ${connection} by default.`);
    }));
}

function describe(verb: string, result: RemovalResult): string {
  const parts = [`${result.connections.length} connection${result.connections.length === 1 ? '' : 's'}${result.connections.length ? ` (${result.connections.join(', ')})` : ''}`];
  if (result.client) parts.push('the OAuth client');
  return `${verb} ${result.provider}: ${parts.join(' and ')} removed from profile ${result.profile}.`;
}

/** What the provider said about each connection's tokens (RFC 7009 revocation). */
async function remoteLines(result: RemovalResult): Promise<string> {
  const { describeRemote } = await import('../../broker/index.ts');
  const entries = Object.entries(result.remote);
  return entries
    .map(([connection, remote]) => describeRemote(entries.length > 1 ? `${result.provider} (${connection})` : result.provider, remote))
    .filter(Boolean)
    .join('\n');
}
