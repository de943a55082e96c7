// profile list|create|use, rekey, migrate, log: the home's profiles, its master key, where its
// records live, its audit trail.
import type { Command } from 'commander';
import { AuthsomeError, toContractTimestamp } from '../../util/index.ts';
import { table } from '../output.ts';
import { action } from './run.ts';

export function registerAdmin(program: Command): void {
  const profile = program.command('profile').description('list, create and switch profiles');
  profile
    .command('list', { isDefault: true })
    .description('list profiles')
    .action(action(async ({ authsome, out }) => {
      const profiles = await authsome.profiles();
      out.result(profiles, table([['PROFILE', 'DEFAULT', 'DESCRIPTION'], ...profiles.map((p) => [p.name + (p.active ? ' (active)' : ''), p.default ? 'yes' : '', p.description ?? ''])]));
    }));
  profile
    .command('create <name>')
    .description('create a profile')
    .option('--description <text>', 'what the profile is for')
    .action(action<{ description?: string }>(async ({ authsome, out }, [name], options) => {
      const created = authsome.createProfile(name!, options.description);
      out.result(created, `Created profile ${name}. Use it with --profile ${name}, or make it the default: authsome profile use ${name}`);
    }));
  profile
    .command('use <name>')
    .description('make a profile the default')
    .action(action(async ({ authsome, out }, [name]) => {
      authsome.useProfile(name!);
      out.result({ default_profile: name }, `Profile ${name} is now the default.`);
    }));

  program
    .command('migrate')
    .description('move every profile\'s records to another store (a shared PostgreSQL, or back to SQLite), verified, and use it from now on')
    .requiredOption('--to <store>', 'postgres://user@host:port/database, or sqlite')
    .option('--replace', 'overwrite records the target already holds for these profiles')
    .action(action<{ to: string; replace?: boolean }>(async ({ authsome, out, settings }, _args, options) => {
      // A running daemon holds the old store open (and would refresh into it): stop it first.
      const { stopDaemon } = await import('../../daemon/index.ts');
      let stopped = false;
      const result = await authsome.migrate(options.to, {
        replace: options.replace ?? false,
        beforeSnapshot: async () => {
          stopped = Boolean(await stopDaemon(settings.home));
        },
      });
      out.result({ ...result, daemon_stopped: stopped }, [
        `Moved ${result.records} record${result.records === 1 ? '' : 's'} in ${result.profiles.length} profile${result.profiles.length === 1 ? '' : 's'} from ${result.from.location} to ${result.to.location}; each was read back and decrypted.`,
        ...result.profiles.map((p) => `  ${p.profile}: ${p.records}`),
        `The old store was ${result.source}.`,
        stopped ? 'The daemon was stopped; the next login starts it again on the new store.' : '',
        result.note ?? '',
      ].filter(Boolean).join('\n'));
    }));

  program
    .command('rekey')
    .description('re-encrypt every record under a new master key')
    .action(action(async ({ authsome, out, env }) => {
      const next = env.AUTHSOME_NEW_MASTER_KEY;
      const onWait = (inFlight: Array<{ profile: string; provider: string; connection: string }>) => out.info(
        `Waiting for ${inFlight.length === 1 ? 'a refresh' : `${inFlight.length} refreshes`} in progress to finish before re-encrypting: `
        + inFlight.map((r) => `${r.provider} (${r.connection}${r.profile === 'default' ? '' : `, profile ${r.profile}`})`).join(', '));
      const result = await authsome.rekey(next ? { newKeyBase64: next, onWait } : { onWait });
      out.result(result, `Re-encrypted ${result.records} records in ${result.profiles.length} profile(s) under a new master key (${result.source}).`
        + (result.source === 'environment' ? '\nNow set AUTHSOME_MASTER_KEY to the value of AUTHSOME_NEW_MASTER_KEY.' : ''));
    }));

  program
    .command('log')
    .description('show the audit log (never contains secrets); with --json, one JSON object per line')
    .option('-n, --lines <n>', 'how many entries', '50')
    .option('--event <name>', 'only entries of this event (login, get, export, logout, …)')
    .action(action<{ lines: string; event?: string }>(async ({ authsome, out }, _args, options) => {
      const limit = Number.parseInt(options.lines, 10);
      if (!Number.isInteger(limit) || limit < 0) throw new AuthsomeError('usage', `-n takes a whole number (got "${options.lines}")`, { hint: 'For example: authsome log -n 50' });
      const entries = authsome.log(limit, options.event);
      // JSON Lines, not one array: the documented audit snippets read one entry per line.
      out.lines(entries, () => entries.map((e) => {
        const { timestamp, event, ...rest } = e;
        return `${toContractTimestamp(timestamp)}  ${event.padEnd(8)}  ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`;
      }).join('\n'));
    }));
}
