// headers: the HTTP headers a request would carry, for header-helper hooks (Claude Code's
// headersHelper, scripts that build requests): with --json the bare JSON object of header names
// to values; otherwise one `Name: value` line per header, as HTTP writes them (`curl -H @-` reads
// that). The credential is renewed first when due, and the read is audited like --show-secret.
import type { Command } from 'commander';
import { action } from './run.ts';

interface HeadersOptions {
  connection?: string;
  url?: string;
}

export function registerHeaders(program: Command): void {
  program
    .command('headers <provider>')
    .description('print the headers a request would carry (JSON object with --json, `Name: value` lines otherwise), renewing a due token first (audited like get --show-secret)')
    .option('--connection <name>', 'connection name (default: the provider\'s default connection)')
    .option('--url <url>', 'decide for this URL as `run --only <provider>` would, adding the route\'s fixed headers; refused when no route of the provider covers it')
    .action(action<HeadersOptions>(async ({ authsome, out }, [provider], options) => {
      const result = await authsome.headers(provider!, { connection: options.connection, url: options.url, via: 'cli' });
      // Exact, like get --show-secret: these values are what was asked for. With --json the object
      // alone, no envelope: a header helper reads stdout as the headers themselves.
      if (out.json) out.raw(JSON.stringify(result.headers));
      else out.raw(Object.entries(result.headers).map(([name, value]) => `${name}: ${value}`).join('\n'));
      return 0;
    }));
}
