// ui: opens the dashboard. The daemon mints a one-time link (asked over its 0600 Unix socket);
// the browser trades it for a session cookie. The browser is opened with a local 0600 page that
// forwards to the link, never the link itself (its command line is readable by every local user).
// With --no-browser the link is printed instead.
import type { Command } from 'commander';
import { VERSION } from '../../util/index.ts';
import { action } from './run.ts';

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('open the dashboard: connections, their state and actions, the audit log (a one-time local link)')
    .option('--no-browser', 'print the link, never open a browser')
    .action(action<{ browser?: boolean }>(async ({ out, env, settings, authsome }, _args, options) => {
      const { daemonClient, ensureDaemon } = await import('../../daemon/index.ts');
      const log = (line: string) => authsome.debug(line);
      await ensureDaemon({ home: settings.home, port: settings.port, version: VERSION, entry: process.argv[1]!, env, log });
      const { canOpenBrowser, openBrowser } = await import('../browser.ts');
      const wanted = options.browser !== false;
      // A page to open the browser with only when one can be opened: no live link is written for nobody.
      const link = await daemonClient(settings.home, log).uiLink({ launch: wanted && canOpenBrowser(env) });
      let opened = false;
      if (wanted) {
        const result = await openBrowser(link.launch_url ?? null, env);
        opened = result.opened;
        if (!result.opened) out.notice(`No browser was opened: ${result.reason}. Open the link yourself (it works once).`);
      }
      const minutes = Math.round((Date.parse(link.expires_at) - Date.now()) / 60_000);
      // Printed even when a browser was opened: a browser confined by snap or flatpak cannot read the
      // local page in the home, and this terminal is the person's own. Once used, the link is spent.
      out.result({ url: link.url, expires_at: link.expires_at, opened }, opened
        ? `Opened the dashboard in your browser. If it shows an error instead, open this one-time link (valid for ${minutes} min, usable once):\n\n  ${link.url}\n`
        : `Open the dashboard at this one-time link (valid for ${minutes} min, usable once):\n\n  ${link.url}\n`);
    }));
}
