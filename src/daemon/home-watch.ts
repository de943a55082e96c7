// Notices when the daemon's socket stops being reachable — the socket file removed or replaced, or
// the whole home deleted — so a daemon nobody can talk to any more exits and frees its port
// instead of holding it for ever. A file event on the home brings the news at once; a check
// every CHECK_INTERVAL_MS covers file systems that send no events.
import { existsSync, lstatSync, watch, type FSWatcher } from 'node:fs';

/** The backstop: at most this long between the socket's disappearance and the daemon noticing. */
export const CHECK_INTERVAL_MS = 2000;

/** The file system's identity of the socket this daemon bound, taken right after listen. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export function identify(path: string): FileIdentity | null {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat ? { dev: stat.dev, ino: stat.ino } : null;
}

/** Whether the file at path is still the one identity describes (not removed, not replaced). */
export function isSameFile(path: string, identity: FileIdentity): boolean {
  const now = identify(path);
  return now !== null && now.dev === identity.dev && now.ino === identity.ino;
}

/**
 * Calls onGone once, with the reason, when the socket at `socket` (inside `home`) is no longer
 * the one this daemon bound. The result stops watching.
 */
export function watchOwnSocket(home: string, socket: string, onGone: (reason: string) => void): () => void {
  const own = identify(socket);
  let done = false;
  let watcher: FSWatcher | null = null;
  const stop = () => {
    done = true;
    clearInterval(timer);
    watcher?.close();
    watcher = null;
  };
  const check = () => {
    if (done || (own && isSameFile(socket, own))) return;
    stop();
    onGone(!existsSync(home)
      ? `its home ${home} was deleted`
      : identify(socket) ? `its socket ${socket} was replaced by another file` : `its socket ${socket} was removed`);
  };
  const timer = setInterval(check, CHECK_INTERVAL_MS);
  timer.unref();
  try {
    // Every event in the home (our own pid file, the audit log) costs one lstat: cheap.
    watcher = watch(home, { persistent: false }, check);
    // A watched folder that is deleted may report an error instead of (or after) an event.
    watcher.on('error', check);
  } catch {
    // No file events here (inotify watches exhausted, an exotic file system): the interval remains.
  }
  check();
  return stop;
}
