// Where a home's daemon keeps its socket, pid file and log. One daemon per home.
import { join } from 'node:path';

export interface DaemonPaths {
  socket: string;
  pidFile: string;
  logFile: string;
  /** The pages the browser is opened with (launch-files.ts). */
  launchDir: string;
}

export function daemonPaths(home: string): DaemonPaths {
  return {
    socket: join(home, 'daemon.sock'),
    pidFile: join(home, 'daemon.json'),
    logFile: join(home, 'logs', 'daemon.log'),
    launchDir: join(home, 'open'),
  };
}

export const DEFAULT_PORT = 7998;
