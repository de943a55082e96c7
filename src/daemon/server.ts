// The daemon process: browser routes on 127.0.0.1:<port>, the CLI's API on a Unix socket in the
// home, a pid file describing both, and a clean stop on SIGTERM/SIGINT or an API request.
import { chmodSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { AuthsomeError, ensurePrivateDir, writePrivateFile } from '../util/index.ts';
import { apiHandler, type DaemonStatus } from './api.ts';
import { CALLBACK_PATH, browserRoutes } from './browser-routes.ts';
import { Dashboard } from './dashboard/index.ts';
import { DaemonClient } from './client.ts';
import { LaunchFiles } from './launch-files.ts';
import { START_PATH } from './login-binding.ts';
import { daemonPaths } from './paths.ts';
import { SessionRegistry } from './sessions.ts';
import { startBackgroundRefresh } from './background-refresh.ts';
import { watchStore, type StoreWatch } from './store-watch.ts';
import { identify, isSameFile, watchOwnSocket, type FileIdentity } from './home-watch.ts';
import { requireSafeHome, type Authsome } from '../broker/index.ts';

export interface DaemonOptions {
  home: string;
  /** 0 picks a free port (tests run many daemons at once). */
  port: number;
  version: string;
  log?: (line: string) => void;
  /** The broker for background refresh; without it the daemon only serves logins. */
  authsome?: Authsome;
  /** Masks known secrets in what the API sends back (the process's one redactor). */
  redact?: (text: string) => string;
  /** Seconds between scans for connections that fall due (default 30). */
  refreshIntervalMs?: number;
}

export interface RunningDaemon {
  port: number;
  status(): DaemonStatus;
  /** Resolves once both listeners are closed and the pid file is gone. */
  stop(): Promise<void>;
  readonly stopped: Promise<void>;
}

export async function startDaemonServer(options: DaemonOptions): Promise<RunningDaemon> {
  // Its socket, pid file and log live in the home: never in one another user controls (they could answer in its place).
  requireSafeHome(options.home);
  const paths = daemonPaths(options.home);
  const log = options.log ?? (() => {});
  const launches = new LaunchFiles(paths.launchDir);
  const sessions = new SessionRegistry({ onEnd: (id) => launches.discard(id) });
  /** The page to open the browser with, or null (and the CLI prints the link instead) when it cannot be written. */
  const launch = (key: string, target: string): string | null => {
    try {
      return launches.create(key, target);
    } catch (error) {
      log(`no page to open the browser with: ${(error as Error).message}`);
      return null;
    }
  };
  const startedAt = new Date();
  let port = options.port;

  // sun_path holds 108 bytes on Linux (104 on macOS); Node silently truncates a longer path and the
  // socket would land outside the home. Refuse before binding anything.
  if (Buffer.byteLength(paths.socket) >= 104) {
    throw new AuthsomeError('home_not_writable', `the daemon's socket path is too long for a Unix socket: ${paths.socket}`, {
      hint: 'Use a shorter AUTHSOME_HOME (at most about 90 characters).',
    });
  }
  refuseForeignSocketPath(paths.socket);
  // The dashboard needs the broker; a daemon started without one (tests) serves logins only.
  // Set once the daemon is up (below); the dashboard's live updates subscribe to it.
  let storeWatch: StoreWatch | null = null;
  const dashboard = options.authsome
    ? new Dashboard({
      authsome: options.authsome, sessions, port: () => port, callbackPath: CALLBACK_PATH, log, changes: (listener) => storeWatch?.subscribe(listener) ?? (() => {}),
      launch, discardLaunch: (key) => launches.discard(key),
    })
    : null;
  const app = browserRoutes({ sessions, port: () => port, log, dashboard: dashboard?.routes, redact: options.redact, launches });
  const browser = createAdaptorServer({ fetch: app.fetch }) as Server;
  browser.requestTimeout = 30_000;
  await listenTcp(browser, options.port);
  port = (browser.address() as AddressInfo).port;

  const status = (): DaemonStatus => ({
    service: 'authsome-daemon', version: options.version, pid: process.pid, port, home: options.home,
    started_at: startedAt.toISOString(), sessions: sessions.size,
    ...(storeWatch && options.authsome
      ? { store: { ...options.authsome.storeLocation(), changes: storeWatch.feed() }, connections: storeWatch.views() }
      : {}),
  });
  let stopping: Promise<void> | null = null;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  /** The socket file this daemon bound: only that one is ever removed (another daemon may own the path by then). */
  let ownSocket: FileIdentity | null = null;
  let stopWatchingHome: () => void = () => {};
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log('stopping');
      stopWatchingHome();
      await stopRefresh();
      await storeWatch?.stop();
      sessions.closeAll('the authsome daemon stopped');
      launches.discardAll();
      await Promise.all([closeServer(browser), closeServer(api)]);
      if (pidFileIsOurs(paths.pidFile)) rmSync(paths.pidFile, { force: true });
      if (ownSocket && isSameFile(paths.socket, ownSocket)) rmSync(paths.socket, { force: true });
      markStopped();
    })();
    return stopping;
  };

  const handleApi = apiHandler({
    sessions, status, log, shutdown: () => void stop(), uiLink: dashboard ? (withLaunch) => dashboard.mintLink(withLaunch) : undefined, launch,
    credential: options.authsome ? (provider, connection) => options.authsome!.credential(provider, { connection, via: 'daemon' }) : undefined,
    redact: options.redact,
    pageUrl: (kind, id) => `http://127.0.0.1:${port}${kind === 'input' ? `/input/${id}` : kind === 'device' ? `/device/${id}` : `${START_PATH}/${id}`}`,
  });
  const api = createServer((req, res) => void handleApi(req, res).catch((error: Error) => {
    log(`api request failed: ${error.message}`);
    res.destroy();
  }));
  let stopRefresh: () => Promise<void> = async () => {};
  try {
    ensurePrivateDir(options.home);
    if (lstatSync(paths.socket, { throwIfNoEntry: false })) {
      if (await new DaemonClient(paths.socket).status().catch(() => null)) {
        await closeServer(browser);
        throw new AuthsomeError('conflict', `an authsome daemon is already running for ${options.home}`, { hint: 'See it with `authsome daemon status`.' });
      }
      // A socket file left by a daemon that died: nobody answers on it, so replace it.
      rmSync(paths.socket, { force: true });
    }
    await new Promise<void>((resolve, reject) => {
      api.once('error', reject);
      // umask first so the socket is never reachable by others, even for the instant before chmod.
      const previous = process.umask(0o177);
      api.once('error', () => process.umask(previous));
      api.listen(paths.socket, () => {
        process.umask(previous);
        api.off('error', reject);
        resolve();
      });
    });
    chmodSync(paths.socket, 0o600);
    ownSocket = identify(paths.socket);
    launches.sweep();
    writePrivateFile(paths.pidFile, JSON.stringify(status()) + '\n');
    // A daemon whose socket is gone can be reached by nobody, and would hold the port for ever.
    stopWatchingHome = watchOwnSocket(options.home, paths.socket, (reason) => {
      log(`${reason}; stopping`);
      void stop();
    });
    // Renew a minute ahead of the refresh window, so callers find fresh tokens.
    if (options.authsome) {
      const watch = watchStore(options.authsome, log);
      storeWatch = watch;
      stopRefresh = startBackgroundRefresh({
        authsome: options.authsome, intervalMs: options.refreshIntervalMs ?? 30_000, lookaheadMs: 60_000, log,
        // Without a working change feed (lost, or a backend with none), the in-memory view catches up on every scan.
        afterTick: () => (watch.feed() === 'listening' ? Promise.resolve() : watch.reload()),
        // The look-ahead is inside renew_from (it assumes the most any look-ahead can add). The first
        // scan waits for the view's first reading, so starting reads every record once, not twice.
        candidates: async () => {
          await watch.ready();
          return watch.dueCandidates(Date.now());
        },
      });
    }
  } catch (error) {
    // Half a daemon (the port bound, no socket) would hold the port and answer nothing: undo it all.
    await Promise.all([closeServer(browser), closeServer(api)]);
    throw error;
  }
  log(`listening on http://127.0.0.1:${port} and ${paths.socket} (pid ${process.pid}, version ${options.version})`);
  return { port, status, stop, stopped };
}

/**
 * Something other than a socket at the socket's path (a folder made by hand, a stray file) is not
 * ours to delete: say what it is and how to clear it. A socket file is replaced (one left by a
 * daemon that died), after checking nobody answers on it.
 */
function refuseForeignSocketPath(socket: string): void {
  const stat = lstatSync(socket, { throwIfNoEntry: false });
  if (!stat || stat.isSocket()) return;
  const what = stat.isDirectory() ? 'a directory' : stat.isSymbolicLink() ? 'a symbolic link' : 'a file';
  const fix = stat.isDirectory() ? `rmdir ${socket} (if it holds files, look at them first, then rm -r ${socket})` : `rm ${socket}`;
  throw new AuthsomeError('daemon_unavailable', `${socket} is ${what}, not the daemon's socket, so the daemon cannot listen there`, {
    hint: `Remove it: ${fix}. Then run the command again.`,
  });
}

/** Whether daemon.json still describes this process (a daemon started after us may have rewritten it). */
function pidFileIsOurs(pidFile: string): boolean {
  try {
    return (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid?: unknown }).pid === process.pid;
  } catch {
    return false;
  }
}

function listenTcp(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(addressInUse(port));
      else if (error.code === 'EACCES') reject(new AuthsomeError('internal', `not allowed to listen on 127.0.0.1:${port}`, { hint: 'Choose another port with AUTHSOME_PORT.' }));
      else reject(error);
    });
    // Loopback only: the browser routes must never be reachable from the network.
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

export function addressInUse(port: number): AuthsomeError {
  return new AuthsomeError('address_in_use', `address already in use: 127.0.0.1:${port}`, {
    hint: `Another program is listening there. Find it with \`ss -ltnp 'sport = :${port}'\` (or \`lsof -nP -iTCP:${port} -sTCP:LISTEN\`) and stop it, ` +
      `or set AUTHSOME_PORT to a free port (then register http://127.0.0.1:<port>/auth/callback/oauth as the redirect URI at your OAuth apps).`,
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
