// `authsome run -- cmd args…`: start the proxy, run the child behind it with a prepared
// environment, pass stdin/stdout/stderr and signals through, and return the child's exit code
// (128 + n when a signal killed it). One audit entry per run: counts, never values.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { constants } from 'node:os';
import type { RouteSpec } from '../broker/index.ts';
import { AuthsomeError, spawnWithCoreDumps } from '../util/index.ts';
import { mergeScopes } from './ca-scope.ts';
import { LeafCache, createRunCA, removeInstallCA } from './certificates.ts';
import { childEnvironment, removeChildFiles, writeChildFiles } from './child-env.ts';
import { CredentialCache, type CredentialSource } from '../broker/index.ts';
import { RouteTable } from './routes.ts';
import { startProxy } from './server.ts';

export interface RunOptions {
  home: string;
  command: string[];
  routes: RouteSpec[];
  credentials: CredentialSource;
  env: NodeJS.ProcessEnv;
  /** A test-only DNS override, like curl's --connect-to: "host:port:addr:port,…". */
  connectTo?: string;
  log: (line: string) => void;
  /** What the user must read (stderr): a route left out, the old install-wide CA removed. */
  warn: (line: string) => void;
  /** Test-only: the proxy mints a leaf for any SNI name (see LeafPolicy.anyName). */
  testAnySni?: boolean;
  /** Masks known secrets in what the proxy tells the child (a refusal's message and hint). */
  redact?: (text: string) => string;
  audit: (fields: Record<string, unknown>) => void;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export async function runBehindProxy(options: RunOptions): Promise<number> {
  const [command, ...args] = options.command;
  if (!command) throw new AuthsomeError('usage', 'no command to run', { hint: 'Usage: authsome run [--only p1,p2] -- cmd args…' });
  const table = new RouteTable(options.routes);
  // The run's own CA, constrained to its routed hosts; its key never leaves this process.
  const ca = await createRunCA(mergeScopes(table.routes.flatMap((route) => route.target.scope)));
  if (removeInstallCA(options.home)) {
    options.warn(`removed the install-wide proxy CA (${options.home}/proxy/ca.key and ca.pem): each run now mints its own, valid only for the hosts it routes. If you added that ca.pem to a trust store, remove it there too.`);
  }
  const leaves = new LeafCache(ca, { isRouted: (host) => table.routesHost(host), anyName: options.testAnySni });
  leaves.warm(table.routes.map((route) => route.host).filter((host): host is string => host !== null));
  const credentials = new CredentialCache(options.credentials);
  // A refresh or a login in another process (or on another machine) replaces the credential this
  // run holds: drop it when the store says so, and the next request reads the new one.
  const watching = options.credentials.watch?.((changed) => {
    options.log(`proxy: credential changed in the store: ${changed ? `${changed.provider} (${changed.connection})` : 'everything'}`);
    credentials.invalidate(changed);
  }).then((stop) => {
    // The feed reports changes from its start on; a credential the child fetched before that
    // (the child may already be running) is read once more.
    credentials.invalidate(null);
    return stop;
  }, (error: Error) => {
    options.log(`proxy: no change feed: ${error.message}`);
    return null;
  });
  const proxy = await startProxy({
    routes: table,
    leaves,
    credentials,
    secret: randomBytes(24).toString('base64url'),
    connectTo: parseConnectTo(options.connectTo),
    log: options.log,
    redact: options.redact,
  });
  for (const route of table.routes) options.log(`proxy: route ${route.label}${Object.keys(route.headers).length ? ` (adds ${Object.keys(route.headers).join(', ')})` : ''}`);
  for (const bad of table.rejected) options.warn(`${bad.spec.provider} (${bad.spec.connection}) is not routed to ${bad.url}: it ${bad.why}`);
  options.log(`proxy: the run's CA vouches only for ${[...ca.scope.dns, ...ca.scope.ips].join(', ') || 'nothing (no routes)'}, until ${ca.cert.notAfter.toISOString()}`);
  // The connections with at least one route the table took.
  const routes = options.routes.filter((spec) => table.routes.some((route) => route.spec === spec));
  const files = writeChildFiles(options.home, routes.length ? ca.certPem : null, options.env);
  // Placeholders only for the routes kept; real values are stripped for every route asked for.
  const env = childEnvironment(options.env, proxy.url, files, routes.flatMap((r) => r.env_vars), options.routes.flatMap((r) => r.strip_env_vars));
  // Parts of a credential that are not secret (an account ID) go in as they are: SDKs build URLs from them.
  for (const route of routes) Object.assign(env, route.env_values ?? {});
  const started = Date.now();
  let exitCode = 1;
  let childPid: number | undefined;
  try {
    exitCode = await new Promise<number>((resolve, reject) => {
      // The handlers go in before the child exists: a signal that arrives while it starts (it may
      // already be running and printing) is forwarded once spawn returns, instead of killing run
      // and leaving the child behind.
      let child: ReturnType<typeof spawn> | null = null;
      const forward = (signal: NodeJS.Signals) => void child?.kill(signal);
      for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
      const cleanup = () => {
        for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      };
      // The child holds none of our secrets: its own core dumps keep the memory ours leave out.
      child = spawnWithCoreDumps(() => spawn(command, args, { stdio: 'inherit', env }));
      childPid = child.pid;
      child.once('error', (error: NodeJS.ErrnoException) => {
        cleanup();
        reject(error.code === 'ENOENT'
          ? new AuthsomeError('usage', `command not found: ${command}`, { hint: 'Check the command name and PATH.' })
          : error);
      });
      child.once('exit', (code, signal) => {
        cleanup();
        resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
      });
    });
  } finally {
    await (await watching)?.();
    await proxy.close();
    removeChildFiles(files);
    options.audit({
      command: basename(command), args: args.length, pid: childPid, exit_code: exitCode, duration_ms: Date.now() - started,
      routes: table.routes.map((r) => r.label), ...proxy.stats.toJSON(),
    });
  }
  return exitCode;
}

function parseConnectTo(value: string | undefined): Map<string, { host: string; port: number }> | undefined {
  if (!value) return undefined;
  const map = new Map<string, { host: string; port: number }>();
  for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [host, port, toHost, toPort] = entry.split(':');
    if (!host || !port || !toHost || !toPort) throw new AuthsomeError('usage', `AUTHSOME_PROXY_CONNECT_TO entry "${entry}" is not host:port:address:port`);
    map.set(`${host.toLowerCase()}:${port}`, { host: toHost, port: Number(toPort) });
  }
  return map;
}
