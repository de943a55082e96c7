// Opening a page in the person's browser: $BROWSER first (Python's webbrowser convention: a
// ":"-separated list of commands, "%s" standing for the URL), else the platform's opener — but
// only where a display exists, so a headless or SSH session says so instead of failing silently.
// Only a local page (file://) is ever opened: a browser keeps its command line for its whole life,
// and every local user can read it (/proc/<pid>/cmdline, `ps`), so a link that grants anything —
// a one-time token, an OAuth state — stays in a 0600 page the daemon wrote (daemon/launch-files.ts).
import { spawn } from 'node:child_process';

export type BrowserResult = { opened: true; command: string } | { opened: false; reason: string };

/**
 * Opens `url`, the local page (file://) the daemon wrote for a link; null when it could not write
 * one, or when none was asked for because no browser can be opened here (the reason then says why).
 */
export async function openBrowser(url: string | null, env: NodeJS.ProcessEnv): Promise<BrowserResult> {
  if (url === null) {
    return canOpenBrowser(env) ? { opened: false, reason: 'the daemon could not write the page to open it with (see `authsome daemon logs`)' } : noBrowserReason(env);
  }
  if (!/^file:\/\//i.test(url)) return { opened: false, reason: 'only a local page is opened, never a link on the command line' };
  for (const command of browserCommands(env)) {
    if (await launch(command, url)) return { opened: true, command: command.join(' ') };
  }
  return noBrowserReason(env);
}

function noBrowserReason(env: NodeJS.ProcessEnv): BrowserResult {
  if (env.BROWSER) return { opened: false, reason: `$BROWSER (${env.BROWSER}) could not be started` };
  if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { opened: false, reason: env.SSH_CONNECTION || env.SSH_TTY ? 'this is an SSH session with no display' : 'there is no display (DISPLAY is not set)' };
  }
  return { opened: false, reason: 'no browser could be started' };
}

function browserCommands(env: NodeJS.ProcessEnv): string[][] {
  if (env.BROWSER) return env.BROWSER.split(':').filter(Boolean).map((entry) => entry.trim().split(/\s+/));
  if (process.platform === 'darwin') return [['open']];
  // Not `cmd /c start`: cmd.exe reads the "&" of every query string as a command separator.
  if (process.platform === 'win32') return [['rundll32', 'url.dll,FileProtocolHandler']];
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return [];
  return [['xdg-open'], ['sensible-browser'], ['x-www-browser']];
}

function launch(command: string[], url: string): Promise<boolean> {
  const args = command.slice(1);
  const withUrl = args.some((a) => a.includes('%s')) ? args.map((a) => a.replaceAll('%s', url)) : [...args, url];
  return new Promise((resolve) => {
    try {
      // Detached and unreferenced: the browser (or a test's simulated one) outlives our wait for it.
      const child = spawn(command[0]!, withUrl, { detached: true, stdio: 'ignore' });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

/** Whether openBrowser has anything to try here. */
export function canOpenBrowser(env: NodeJS.ProcessEnv): boolean {
  return browserCommands(env).length > 0;
}
