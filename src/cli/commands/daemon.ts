// daemon start|stop|restart|status|logs|serve: the long-lived listener for browser routes.
// `serve` runs it in the foreground (what `start` launches, detached, with its output in the log).
// The daemon room (hono and its routes) loads inside each action, never at CLI start-up.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { StartMessage } from '../../daemon/index.ts';
import { VERSION, boundedLine, resolveSettings, toAuthsomeError, toContractTimestamp } from '../../util/index.ts';
import { action } from './run.ts';

/** What the daemon's change feed state means for someone reading `daemon status`. */
const CHANGE_FEED: Record<string, string> = {
  listening: 'listening for changes from other processes and machines',
  connecting: 'connecting to the change feed',
  unavailable: 'change feed unavailable; retrying',
  none: 'no change feed; rescanned every refresh interval',
};

export function registerDaemon(program: Command): void {
  const daemon = program.command('daemon').description('the local listener for OAuth callbacks, input forms and the device page');

  daemon
    .command('start')
    .description('start the daemon in the background (reuses a running one of this version)')
    .action(action(async ({ out, env, settings }) => {
      const { ensureDaemon } = await import('../../daemon/index.ts');
      const { status, started } = await ensureDaemon({ home: settings.home, port: settings.port, version: VERSION, entry: process.argv[1]!, env });
      out.result({ ...status, started }, `${started ? 'Started' : 'Already running:'} authsome daemon ${status.version} (pid ${status.pid}) on http://127.0.0.1:${status.port}`);
    }));

  daemon
    .command('stop')
    .description('stop the daemon')
    .action(action(async ({ out, env, settings }) => {
      const { stopDaemon } = await import('../../daemon/index.ts');
      const stopped = await stopDaemon(settings.home);
      out.result({ stopped: Boolean(stopped), pid: stopped?.pid ?? null }, stopped ? `Stopped the authsome daemon (pid ${stopped.pid}).` : 'The authsome daemon was not running.');
    }));

  daemon
    .command('restart')
    .description('stop the daemon, then start it again')
    .action(action(async ({ out, env, settings }) => {
      const { ensureDaemon, stopDaemon } = await import('../../daemon/index.ts');
      await stopDaemon(settings.home);
      const { status } = await ensureDaemon({ home: settings.home, port: settings.port, version: VERSION, entry: process.argv[1]!, env });
      out.result({ ...status, started: true }, `Restarted the authsome daemon (pid ${status.pid}) on http://127.0.0.1:${status.port}`);
    }));

  daemon
    .command('status')
    .description('whether the daemon runs, its version, port, open login sessions and store (exit 1 when stopped)')
    .action(action(async ({ out, env, settings }) => {
      const { daemonClient, daemonPaths } = await import('../../daemon/index.ts');
      const status = await daemonClient(settings.home).status();
      if (!status) {
        out.result({ running: false }, 'The authsome daemon is not running. Start it with `authsome daemon start` (login starts it when needed).');
        return 1;
      }
      out.result({ running: true, ...status, current_version: VERSION }, [
        `running     yes (pid ${status.pid})`,
        `version     ${status.version}${status.version === VERSION ? '' : ` (this CLI is ${VERSION}; the next login replaces it)`}`,
        `browser     http://127.0.0.1:${status.port}`,
        `socket      ${daemonPaths(settings.home).socket}`,
        `since       ${toContractTimestamp(status.started_at)}`,
        `sessions    ${status.sessions} open`,
        ...(status.store ? [`store       ${status.store.location} (${CHANGE_FEED[status.store.changes] ?? status.store.changes})`] : []),
        ...(status.connections ? [`connections ${status.connections.length} in memory`] : []),
      ].join('\n'));
    }));

  daemon
    .command('logs')
    .description('print the end of the daemon log')
    .option('-n, --lines <count>', 'how many lines', '50')
    .action(action<{ lines: string }>(async ({ out, settings }, _args, options) => {
      const { daemonPaths } = await import('../../daemon/index.ts');
      const { logFile } = daemonPaths(settings.home);
      const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
      const count = Math.max(1, Number.parseInt(options.lines, 10) || 50);
      // Just after a rotation the live file is short: the lines before it are in daemon.log.1.
      const live = read(logFile);
      const lines = live.length >= count ? live : [...read(`${logFile}.1`), ...live];
      const tail = lines.slice(-count);
      out.result({ file: logFile, lines: tail }, tail.length ? tail.join('\n') : `No daemon log yet (${logFile}).`);
    }));

  daemon
    .command('serve')
    .description('run the daemon in the foreground (what `daemon start` launches)')
    .option('--log-file <file>', 'append the log to this file, rotated at 1 MiB (one previous file kept), instead of stdout')
    .action(async (options: { logFile?: string }, command: Command) => {
      const flags = command.optsWithGlobals() as { home?: string };
      process.exitCode = await serve(flags.home, options.logFile);
    });
}

/** Runs until stopped; reports readiness or the start failure to a parent over IPC. */
async function serve(home: string | undefined, logFile: string | undefined): Promise<number> {
  const settings = resolveSettings(process.env, { home });
  const { appendRotating, redactor } = await import('../../audit/index.ts');
  // Every line passes the one redactor, like every other log (refresh outcomes can quote providers),
  // and is cut to a bounded length; the file rotates while the daemon runs, since anyone who can
  // reach its port can make it log a line (issue 14: 41 MB in seconds).
  const write = logFile ? (text: string) => appendRotating(logFile, text, { createFolder: false }) : (text: string) => void process.stdout.write(text);
  const log = (line: string) => write(boundedLine(redactor.redact(`${new Date().toISOString()} ${line}`)) + '\n');
  // A crash's stack trace goes to stderr, which `daemon start` points at the file daemon.log was
  // when the daemon started (rotated since, perhaps): say it in the live log too.
  process.on('uncaughtExceptionMonitor', (error) => log(`crashed: ${error.stack ?? error.message}`));
  const { startDaemonServer, daemonTitle } = await import('../../daemon/index.ts');
  // What `ps` shows, and how `daemon stop` recognises this process when its socket is gone.
  process.title = daemonTitle(settings.home);
  let running;
  try {
    const { Authsome } = await import('../../broker/index.ts');
    const authsome = new Authsome({ settings, env: process.env });
    running = await startDaemonServer({ home: settings.home, port: settings.port, version: VERSION, log, authsome, redact: (text) => redactor.redact(text), refreshIntervalMs: settings.daemonRefreshIntervalMs });
  } catch (error) {
    const failure = toAuthsomeError(error);
    // Nothing is written into a home that is not the user's own, the log included.
    if (failure.code !== 'home_insecure') log(`failed to start: ${failure.message}`);
    if (process.send) await sendToParent({ error: failure.toJSON() });
    else process.stderr.write(`Error: ${failure.message}${failure.hint ? `\n${failure.hint}` : ''}\n`);
    return failure.exitCode;
  }
  if (process.send) await sendToParent({ ready: running.status() });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void running.stop());
  await running.stopped;
  log('stopped');
  return 0;
}

function sendToParent(message: StartMessage): Promise<void> {
  return new Promise((resolve) => {
    process.send!(message, undefined, {}, () => {
      // The parent disconnects once it has read this; nothing else ever comes over the channel.
      process.channel?.unref();
      resolve();
    });
  });
}
