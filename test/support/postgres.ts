// A throwaway PostgreSQL 15 cluster for tests: initdb into a temp folder owned by postgres (root
// cannot run the server, and tests run as root), started on a free 127.0.0.1 port with fsync off,
// one fresh database per startPostgres() call. It cannot start → a thrown error, never a skip.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = process.env.AUTHSOME_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const USER = 'authsome';

export interface TestPostgres {
  /** postgres://authsome@127.0.0.1:<port>/<fresh database> (trust auth: any password is accepted). */
  url: string;
  port: number;
  /** Another fresh database on the same server. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  /** Fast shutdown and start again on the same port and data (drops every connection). */
  restart(): Promise<void>;
  /** Fast shutdown, keeping the data: the server is unreachable until resume(). */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port. */
  resume(): Promise<void>;
  /**
   * Resolves once the server logs a line matching pattern after this call (a refused connection:
   * "too many clients already"), so a test can act on what the server saw; rejects after limitMs.
   */
  nextLogLine(pattern: RegExp, limitMs?: number): Promise<string>;
}

export interface TestPostgresOptions {
  /**
   * The server's max_connections (default 50). Small values let a test run more callers than the
   * server admits; superuser_reserved_connections is lowered to fit (the test role is a superuser,
   * so it may use those slots too: every slot counts).
   */
  maxConnections?: number;
}

export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const initdb = join(BIN, 'initdb');
  const pgCtl = join(BIN, 'pg_ctl');
  if (!existsSync(initdb)) {
    throw new Error(`PostgreSQL test server: ${initdb} not found (install postgresql-15, e.g. apt-get install -y postgresql, or set AUTHSOME_TEST_PG_BIN)`);
  }
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'authsome-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid) || uid <= 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error('PostgreSQL test server: running as root needs a "postgres" system user to run the server as');
    }
    chownSync(dir, uid, gid);
  }
  const pg = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);

  const port = await freePort();
  const maxConnections = options.maxConnections ?? 50;
  // PostgreSQL refuses to start unless superuser_reserved_connections < max_connections.
  const reserved = Math.min(3, maxConnections - 1);
  const startArgs = ['-D', data, '-l', log, '-w', '-t', '30', '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=${maxConnections} -c superuser_reserved_connections=${reserved}`];
  let running = false;
  const fail = (step: string, error: unknown): never => {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    const logText = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-15).join('\n') : '';
    if (!running) rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `PostgreSQL test server: ${step} failed: ${(error as Error).message}${stderr ? `\n${stderr}` : ''}${logText ? `\nserver log:\n${logText}` : ''}`,
      { cause: error },
    );
  };

  try {
    await pg(initdb, ['-D', data, '-A', 'trust', '-U', USER, '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  } catch (error) {
    fail('initdb', error);
  }
  try {
    await pg(pgCtl, ['start', ...startArgs]);
    running = true;
  } catch (error) {
    fail(`pg_ctl start on port ${port}`, error);
  }

  // A test process that dies without stop() must not leave a server behind.
  const onExit = () => {
    if (!running) return;
    const args = ['stop', '-D', data, '-m', 'immediate'];
    spawnSync(asRoot ? 'runuser' : join(BIN, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', pgCtl, ...args] : args, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const base = `postgres://${USER}@127.0.0.1:${port}`;
  const createDatabase = async (name: string): Promise<string> => {
    const { default: pgModule } = await import('pg');
    const client = new pgModule.Client({ connectionString: `${base}/postgres` });
    try {
      await client.connect();
      const ident = `"${name.replace(/"/g, '""')}"`;
      try {
        // An ICU (en-US) default collation, so ordering bugs that a "C" database hides show up.
        await client.query(`CREATE DATABASE ${ident} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`);
      } catch {
        await client.query(`CREATE DATABASE ${ident} TEMPLATE template0 ENCODING 'UTF8'`);
      }
    } catch (error) {
      fail(`CREATE DATABASE ${name}`, error);
    } finally {
      await client.end().catch(() => undefined);
    }
    return `${base}/${encodeURIComponent(name)}`;
  };

  const url = await createDatabase(`authsome_test_${process.pid}`);
  return {
    url,
    port,
    createDatabase,
    async stop() {
      if (!running) return;
      try {
        await pg(pgCtl, ['stop', '-D', data, '-m', 'fast', '-w']);
      } finally {
        running = false;
        process.removeListener('exit', onExit);
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async restart() {
      try {
        await pg(pgCtl, ['stop', '-D', data, '-m', 'fast', '-w']);
        await pg(pgCtl, ['start', ...startArgs]);
      } catch (error) {
        fail('pg_ctl restart', error);
      }
    },
    async pause() {
      try {
        await pg(pgCtl, ['stop', '-D', data, '-m', 'fast', '-w']);
      } catch (error) {
        fail('pg_ctl stop', error);
      }
    },
    async resume() {
      try {
        await pg(pgCtl, ['start', ...startArgs]);
      } catch (error) {
        fail('pg_ctl start', error);
      }
    },
    nextLogLine: (pattern, limitMs = 20_000) => nextLine(log, pattern, limitMs),
  };
}

/** The first line matching pattern appended to file from now on, seen through file events. */
function nextLine(file: string, pattern: RegExp, limitMs: number): Promise<string> {
  const from = existsSync(file) ? statSync(file).size : 0;
  return new Promise((resolve, reject) => {
    const check = () => {
      const added = readFileSync(file).subarray(from).toString('utf8');
      const line = added.split('\n').find((text) => pattern.test(text));
      if (line === undefined) return;
      done();
      resolve(line);
    };
    const watcher = watch(file, check);
    const timer = setTimeout(() => {
      done();
      reject(new Error(`PostgreSQL test server: no log line matching ${pattern} within ${limitMs} ms`));
    }, limitMs);
    const done = () => {
      clearTimeout(timer);
      watcher.close();
    };
    check();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on (for "server unreachable" tests). */
export const closedPort = freePort;
