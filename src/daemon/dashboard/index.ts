// dashboard: `authsome ui` — the daemon's pages that show what `list` and `log` show and run
// their actions (connect, disconnect, make default, refresh, register), behind a one-time link,
// a session cookie and a CSRF token. Mounted under /ui by the browser routes.
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import type { Authsome } from '../../broker/index.ts';
import type { UiLink } from '../api.ts';
import type { Env } from '../browser-routes.ts';
import type { SessionRegistry } from '../sessions.ts';
import type { ConnectionChange } from '../store-watch.ts';
import { DashboardAccess } from './access.ts';
import { ConnectFlows } from './connect.ts';
import { dashboardRoutes } from './routes.ts';

export interface DashboardOptions {
  authsome: Authsome;
  sessions: SessionRegistry;
  /** The port actually listened on. */
  port: () => number;
  callbackPath: string;
  log: (line: string) => void;
  /** Connection changes the daemon sees, for the page's live updates. */
  changes?: (listener: (change: ConnectionChange) => void) => () => void;
  /** Writes the page a browser is opened with (launch-files.ts): its file:// URL, or null. */
  launch?: (key: string, target: string) => string | null;
  discardLaunch?: (key: string) => void;
}

/** A link's page is known by a digest of its token, as the link itself is (access.ts). */
const launchKey = (linkToken: string) => `ui:${createHash('sha256').update(linkToken).digest('hex')}`;

export class Dashboard {
  readonly #access = new DashboardAccess();
  readonly #options: DashboardOptions;
  readonly routes: Hono<Env>;

  constructor(options: DashboardOptions) {
    this.#options = options;
    const origin = () => `http://127.0.0.1:${options.port()}`;
    const flows = new ConnectFlows({ sessions: options.sessions, origin, callbackPath: options.callbackPath, log: options.log });
    // Its context also carries the session; mounted under /ui, it sees the parent's nonce like any route.
    this.routes = dashboardRoutes({
      authsome: options.authsome, access: this.#access, flows, port: options.port, changes: options.changes,
      linkVisited: (linkToken) => options.discardLaunch?.(launchKey(linkToken)),
    }) as unknown as Hono<Env>;
  }

  /** A one-time URL that opens the dashboard (what `authsome ui` prints or opens), and with `launch` the page that forwards to it. */
  mintLink(launch = false): UiLink {
    const { token, expiresAt } = this.#access.mintLink();
    this.#options.log('dashboard link issued');
    const url = `http://127.0.0.1:${this.#options.port()}/ui/open?t=${token}`;
    const launchUrl = launch ? this.#options.launch?.(launchKey(token), url) ?? null : null;
    return { url, expires_at: expiresAt.toISOString(), launch_url: launchUrl };
  }
}
