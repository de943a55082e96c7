// A shared PostgreSQL under more callers than it admits (issue 13, item 5): a server at its
// max_connections ("too many clients", 53300) or just starting ("the database system is starting
// up", 57P03) turns callers away for moments, and each caller retries with jittered back-off
// inside its reconnect window instead of exiting 7; a connect that hangs is given up in time for
// another attempt inside that window.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { PgStore } from '../../src/vault/pg-store.ts';
import { acme } from '../proxy/harness.ts';
import { runCli, startCli, type RunningCli } from '../support/cli.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { cliOnSignal, together } from '../support/together.ts';

/** The server admits this many connections; the tests run more callers than that, and hold every slot first. */
const MAX_CONNECTIONS = 8;
const CALLERS = 12;
const CALLERS_AT_RESTART = 16;
const KEY = 'acme-key-shared-by-the-fleet';

let pg: TestPostgres;
let machine: OAuthHome;

before(async () => {
  pg = await startPostgres({ maxConnections: MAX_CONNECTIONS });
  machine = await oauthHome({ AUTHSOME_STORE_URL: pg.url, AUTHSOME_MASTER_KEY: randomBytes(32).toString('base64') });
  await machine.register(acme);
  const login = await runCli(['login', 'acme', '--api-key-stdin'], { env: machine.env, input: KEY });
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  await machine?.cleanup();
  await pg?.stop();
});

const GET = ['get', 'acme', '--field', 'api_key', '--show-secret'];

function assertAllGotTheKey(results: Array<{ code: number; stdout: string; stderr: string }>): void {
  const failed = results.filter((r) => r.code !== 0 || r.stdout.trim() !== KEY);
  const why = (r: { code: number; stderr: string }) => `exit ${r.code}: ${r.stderr.split('\n').find((line) => line.startsWith('Error:')) ?? r.stderr.trim()}`;
  assert.equal(failed.length, 0, `${failed.length} of ${results.length} callers failed:\n${[...new Set(failed.map(why))].join('\n')}`);
}

/**
 * Other clients (other machines) taking every slot the server has: they connect until they hold
 * them all, slots that callers free included, so nothing else gets in until release().
 */
async function holdEverySlot(): Promise<{ release: () => Promise<void> }> {
  const { default: pgModule } = await import('pg');
  const held: InstanceType<typeof pgModule.Client>[] = [];
  while (held.length < MAX_CONNECTIONS) {
    const client = new pgModule.Client({ connectionString: pg.url });
    try {
      await client.connect();
      held.push(client);
    } catch {
      await client.end().catch(() => undefined);
      await delay(5); // a slot frees when a caller finishes: there is no event for it, so try again soon
    }
  }
  return { release: async () => void (await Promise.all(held.map((client) => client.end()))) };
}

describe('a shared PostgreSQL with more callers than connection slots', () => {
  it(`every slot taken while ${CALLERS} processes start, then freed: each waits for one and gets the key (two rounds)`, async () => {
    for (let round = 0; round < 2; round += 1) {
      const others = await holdEverySlot();
      const refused = pg.nextLogLine(/too many clients already/);
      const running = together(Array.from({ length: CALLERS }, () => ({ argv: cliOnSignal(GET), env: machine.env })));
      // Once the server has turned a caller away, the slots free up, and all the callers compete for them.
      await refused;
      await others.release();
      assertAllGotTheKey(await running);
    }
  });

  it('a server that starts while callers wait, filled first by other clients: every caller gets the key', async () => {
    // The callers reach the server through a port of their own, so that the fleet's other clients
    // can be made to win the race for the slots: that port stays closed (connection refused, as
    // for a server that is down) until the server has started and every slot is taken.
    const gate = await closedForwarder(pg.port);
    const env = { ...machine.env, AUTHSOME_STORE_URL: pg.url.replace(`:${pg.port}/`, `:${gate.port}/`) };
    await pg.pause();
    let callers: RunningCli[] = [];
    let others: { release: () => Promise<void> } | null = null;
    try {
      // --verbose prints the home just before the store is first touched: once a caller has said
      // so, it is trying a server that is not there, and the others follow as they start.
      callers = Array.from({ length: CALLERS_AT_RESTART }, () => startCli([...GET, '--verbose'], { env }));
      await Promise.race(callers.map((caller) => caller.waitForStderr(/\[authsome\] home /)));
      await pg.resume();
      others = await holdEverySlot();
      const refused = pg.nextLogLine(/too many clients already/);
      await gate.open();
      await refused; // a caller was turned away: the server is full
    } finally {
      await others?.release();
    }
    try {
      assertAllGotTheKey(await Promise.all(callers.map((caller) => caller.done)));
    } finally {
      gate.close();
    }
  });
});

/** A TCP port that forwards to the server's once open() is called; until then nothing listens there. */
async function closedForwarder(target: number): Promise<{ port: number; open: () => Promise<void>; close: () => void }> {
  const server = createServer((client) => {
    const upstream = createConnection(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Take a free port and let it go: it is listened on again by open().
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return {
    port,
    open: async () => {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('a connect that hangs', () => {
  let proxy: Server;
  const held: Socket[] = [];
  after(() => {
    for (const socket of held) socket.destroy();
    proxy?.close();
  });

  it('is given up in time for another attempt inside the reconnect window', async () => {
    // In front of the server: the first connection is accepted and never answered (a lost SYN-ACK,
    // a server too swamped to start a backend); later ones pass through.
    let accepted = 0;
    let abandon!: () => void;
    const abandoned = new Promise<void>((resolve) => (abandon = resolve));
    proxy = createServer((client) => {
      accepted += 1;
      if (accepted === 1) {
        held.push(client);
        client.resume(); // read (and ignore) what it sends, so its closing is seen
        client.on('close', abandon);
        client.on('error', () => undefined);
        return;
      }
      const upstream = createConnection(pg.port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const port = (proxy.address() as { port: number }).port;
    const store = await PgStore.open(pg.url.replace(`:${pg.port}/`, `:${port}/`), { profile: 'default' });
    try {
      assert.ok(await store.get('profile:default:acme:connection:default'), 'the record was read through the second connection');
      await abandoned; // the hung connection was given up, not left open
      assert.equal(accepted, 2);
    } finally {
      await store.close();
    }
  });
});
