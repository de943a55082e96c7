// get: a connection's details (secrets masked) or one field; --show-secret prints the bare value.
// Every get is an access call: a due token is renewed first, and what is printed is the
// connection after that attempt (a failed one is reported on stderr with its exit code).
import type { Command } from 'commander';
import type { Authsome, ConnectionRead } from '../../broker/index.ts';
import { AuthsomeError, displayText } from '../../util/index.ts';
import { table, type Output } from '../output.ts';
import { action } from './run.ts';

interface GetOptions {
  connection?: string;
  field?: string;
  showSecret?: boolean;
}

export function registerGet(program: Command): void {
  program
    .command('get <provider>')
    .description('show a connection (secrets masked) or one field of it, renewing a due token first')
    .option('--connection <name>', 'connection name (default: the provider\'s default connection)')
    .option('--field <name>', 'print one field (status, expires_at, scopes, access_token, api_key, …)')
    .option('--show-secret', 'print secret values instead of masks (audited)')
    .action(action<GetOptions>(async ({ authsome, out }, [provider], options) => {
      const connection = options.connection ? { connection: options.connection } : {};
      let read: ConnectionRead;
      try {
        read = await authsome.read(provider!, { ...connection, ...(options.field ? { field: options.field } : {}), showSecret: Boolean(options.showSecret) });
      } catch (error) {
        // A revealed token that could not be renewed is never printed; --json still says the state it left.
        if (!out.json || !(error instanceof AuthsomeError) || error.code !== 'refresh_failed') throw error;
        return out.error(error, { status: await statusOf(authsome, provider!, connection) });
      }
      const { value, status, failure } = read;
      // With --json stdout holds one document: the error envelope, carrying the status it left.
      if (failure && out.json) return out.error(failure, { status });
      // Only what --show-secret asked for is printed exactly; everything else passes the redactor,
      // since a provider's words (an error description) can quote a token or the client secret.
      const exact = read.revealed;
      // Loaded already (the command's context holds the broker): no cost, and none for `get --help`.
      const { isSecretField } = await import('../../broker/index.ts');
      print(out, value, Boolean(options.field), exact, isSecretField);
      return failure ? out.error(failure) : 0;
    }));
}

function print(out: Output, value: unknown, isField: boolean, exact: boolean, isSecretField: (key: string) => boolean): void {
  if (out.json) return out.result(value, undefined, { exact });
  if (!exact) {
    out.value(isField ? bare(value) : table(Object.entries(value as Record<string, unknown>).map(([key, v]) => [key, v == null ? '-' : bare(v)])));
    return;
  }
  // Exact is for the secrets asked for; the other cells beside them (a provider's label) still lose what a terminal would act on.
  out.raw(isField ? bare(value) : table(Object.entries(value as Record<string, unknown>).map(([key, v]) => [key, v == null ? '-' : isSecretField(key) ? bare(v) : displayText(bare(v))])));
}

/** A value as a script reads it: strings as they are, lists space-separated, anything else as JSON. */
function bare(value: unknown): string {
  return value == null ? '' : typeof value === 'string' ? value : Array.isArray(value) ? value.join(' ') : JSON.stringify(value);
}

async function statusOf(authsome: Authsome, provider: string, connection: { connection?: string }): Promise<unknown> {
  return (await authsome.storedView(provider, connection).catch(() => null))?.status ?? null;
}
