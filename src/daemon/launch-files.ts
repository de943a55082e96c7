// The pages a person's browser is opened with (issue 14, item 1). A browser keeps its command line
// for its whole life and every local user can read it (/proc/<pid>/cmdline, `ps`), so the opener
// never names a one-time link there: it names the file:// URL of a page in <home>/open (folder
// 0700, file 0600, as Jupyter's redirect file) that forwards to the link. The daemon, which mints
// the links, writes these pages and removes each once its link is used, when the link ends, or
// after LAUNCH_TTL_MS — whichever comes first — and all of them when it stops.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensurePrivateDir } from '../util/index.ts';
import { escapeHtml } from './pages/layout.ts';
import { token } from './sessions.ts';

/** A browser reads the page within seconds of being started; a page not used by then is just litter. */
const LAUNCH_TTL_MS = 2 * 60_000;

export class LaunchFiles {
  readonly #dir: string;
  readonly #files = new Map<string, { path: string; timer: NodeJS.Timeout }>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Pages left by a daemon that was killed: their links died with it. */
  sweep(): void {
    let names: string[] = [];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return;
    }
    for (const name of names) if (name.endsWith('.html')) rmSync(join(this.#dir, name), { force: true });
  }

  /** Writes the page forwarding to `target` for the capability `key`: its file:// URL, what the opener hands the browser. Removed by discard(key), or after two minutes. */
  create(key: string, target: string): string {
    this.discard(key);
    ensurePrivateDir(this.#dir);
    const path = join(this.#dir, `${token().slice(0, 22)}.html`);
    // wx: a new file or nothing (never through a planted name); 0600 from its first byte.
    writeFileSync(path, redirectPage(target), { flag: 'wx', mode: 0o600 });
    const timer = setTimeout(() => this.discard(key), LAUNCH_TTL_MS);
    timer.unref();
    this.#files.set(key, { path, timer });
    return pathToFileURL(path).href;
  }

  /** The capability was used or ended: its page goes. */
  discard(key: string): void {
    const file = this.#files.get(key);
    if (!file) return;
    this.#files.delete(key);
    clearTimeout(file.timer);
    rmSync(file.path, { force: true });
  }

  discardAll(): void {
    for (const key of [...this.#files.keys()]) this.discard(key);
  }
}

/**
 * Forwards at once: the meta refresh works without scripts, location.replace keeps the file out of
 * the back history, and no-referrer keeps the file's path out of the request.
 */
function redirectPage(target: string): string {
  const href = escapeHtml(target);
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">',
    `<meta http-equiv="refresh" content="0;url=${href}">`,
    '<title>authsome</title></head>',
    `<body><p>Opening authsome… <a href="${href}">continue</a></p>`,
    `<script>location.replace(${JSON.stringify(target).replace(/</g, '\\u003c')})</script></body></html>`,
    '',
  ].join('\n');
}
