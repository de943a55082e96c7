// daemon: the long-lived listener for browser routes (OAuth callback, input form, device page)
// and the CLI's API on a Unix socket, with the helpers that start, find and stop it.
export { startDaemonServer, addressInUse, type DaemonOptions, type RunningDaemon } from './server.ts';
export { ensureDaemon, startDaemon, stopDaemon, daemonClient, type DaemonTarget, type StartMessage } from './lifecycle.ts';
export { DaemonClient, SessionStream } from './client.ts';
export { daemonPaths, DEFAULT_PORT, type DaemonPaths } from './paths.ts';
export { daemonTitle } from './orphan.ts';
export { CALLBACK_PATH, STATE_MISMATCH, browserRoutes } from './browser-routes.ts';
export { SessionRegistry, type SessionSpec, type SessionEvent, type Outcome, type InputFieldSpec } from './sessions.ts';
export type { DaemonStatus, UiLink } from './api.ts';
