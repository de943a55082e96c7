// `run` and the documentation's 401 story ("if the request 401s mid-flight, re-run after re-login;
// the proxy picks up the fresh token automatically"), with one long-running child driven line by
// line: a credential the proxy cannot get reaches the child as a 401 whose JSON names the provider,
// the reason and the command that fixes it (a 503 when only the store is out of reach); a login or
// a refresh in another process reaches the child's next request within 2 s, and a connection
// removed in another process is a 401 with the login command — on SQLite as on PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { assertNoTokenIn } from '../support/canary.ts';
import { CLI, cleanEnv, runCli } from '../support/cli.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';
import { makeDue, type StoreAccess } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { startTokenGate, type TokenGate } from '../support/token-gate.ts';
import { ACME_KEY, acme, assertNoSecretIn, headerValues } from './harness.ts';

/** How soon a running `run` must use a credential another process changed. */
const PICKUP_MS = 2000;

let as: AuthServer;
let gate: TokenGate;
let upstream: HttpsUpstream;
let pg: TestPostgres;
const homes: OAuthHome[] = [];
/** One home per backend, logged in at the same time (a login is the slow part of the setup). */
const ready: Partial<Record<'sqlite' | 'postgres', { home: OAuthHome; access: StoreAccess }>> = {};

before(async () => {
  [as, upstream, pg] = await Promise.all([startAuthServer({ accessTokenTtl: 3600 }), startHttpsUpstream(), startPostgres()]);
  // The token endpoint behind a gate, so a test can make a refresh fail.
  gate = await startTokenGate(`${as.issuer}/token`);
  const masterKey = randomBytes(32).toString('base64');
  const [sqliteHome, pgHome] = await Promise.all([loggedInHome(), loggedInHome({ AUTHSOME_STORE_URL: pg.url, AUTHSOME_MASTER_KEY: masterKey })]);
  ready.sqlite = { home: sqliteHome, access: {} };
  ready.postgres = { home: pgHome, access: { storeUrl: pg.url, masterKey } };
});
after(async () => {
  const tokens = await as?.issuedTokens().catch(() => []);
  for (const home of homes) {
    if (tokens?.length) await assertNoTokenIn([join(home.home, 'audit.log'), join(home.home, 'logs')], [...tokens, ACME_KEY]);
    await home.cleanup();
  }
  await Promise.all([gate?.close(), upstream?.close(), as?.close()]);
  await pg?.stop();
});

/** A home logged in to testas (OAuth, on api.example.test) and acme (an API key, on other.example.test). */
async function loggedInHome(env: Record<string, string> = {}): Promise<OAuthHome> {
  const home = await oauthHome(env);
  homes.push(home);
  await home.register(testProvider(as, { host_url: 'api.example.test', oauth: { token_url: gate.url } }));
  await home.register({ ...acme, host_url: 'other.example.test' });
  const login = await runCli(['login', 'testas'], { env: home.env });
  assert.equal(login.code, 0, login.stderr);
  const key = await runCli(['login', 'acme', '--api-key-stdin'], { env: home.env, input: ACME_KEY });
  assert.equal(key.code, 0, key.stderr);
  return home;
}

/** What the child saw of one request: the status, and for the proxy's own answers the body and headers. */
interface Answer {
  status: number;
  type?: string | null;
  challenge?: string | null;
  body?: string;
  /** When the test received the answer. */
  at: number;
}

/**
 * The child: a Node program that does what each line of its stdin says, and prints one JSON line
 * per request — `GET <url>` (fetch), `WS <url>` (a WebSocket upgrade), `EXIT <code>`. It never
 * prints an upstream's body (the test upstream echoes the headers it got, credential included).
 */
const CHILD = `
  const https = require('node:https');
  const say = (answer) => console.log(JSON.stringify(answer));
  require('node:readline').createInterface({ input: process.stdin }).on('line', async (line) => {
    const [command, arg] = line.split(' ');
    if (command === 'EXIT') process.exit(Number(arg));
    if (command === 'GET') {
      const r = await fetch(arg).catch((e) => ({ status: 0, error: String(e) }));
      const body = r.text ? await r.text() : r.error;
      const headers = r.headers ?? new Headers();
      say({ status: r.status, type: headers.get('content-type'), challenge: headers.get('www-authenticate'), body: r.status === 200 ? undefined : body });
    }
    if (command === 'WS') {
      const req = https.request(arg, { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' } });
      req.on('upgrade', (res, socket) => { socket.destroy(); say({ status: res.statusCode }); });
      req.on('response', (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => say({ status: res.statusCode, type: res.headers['content-type'], challenge: res.headers['www-authenticate'], body: b })); });
      req.on('error', (e) => say({ status: 0, body: String(e) }));
      req.end();
    }
  });`;

interface LiveRun {
  get(url: string): Promise<Answer>;
  upgrade(url: string): Promise<Answer>;
  /** Resolves once run's --verbose output shows `pattern` after character `from` of it. */
  logged(pattern: RegExp, from: number): Promise<void>;
  /** How much run has logged so far (a mark for logged()). */
  mark(): number;
  /** Tells the child to exit with `code`; run's exit code and its output. */
  exit(code: number): Promise<{ code: number; stderr: string }>;
}

/** `authsome --verbose run -- node -e CHILD` in `home`, the child waiting for its first line. */
function startRun(home: OAuthHome): LiveRun {
  const env = cleanEnv({ ...home.env, NODE_EXTRA_CA_CERTS: upstream.caFile, AUTHSOME_TESTING: '1', AUTHSOME_PROXY_CONNECT_TO: upstream.connectTo() });
  const child = spawn(process.execPath, [CLI, '--verbose', 'run', '--', process.execPath, '-e', CHILD], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    wake();
  });
  const done = new Promise<number>((resolve) => child.on('close', (code) => {
    resolve(code ?? -1);
    wake();
  }));
  let closed = false;
  void done.then(() => (closed = true));
  /** Waits (up to 20 s, for a loaded machine) until `ready` returns a value. */
  const until = <T>(what: string, ready: () => T | undefined): Promise<T> => new Promise((resolve, reject) => {
    const check = () => {
      const value = ready();
      if (value !== undefined) {
        cleanup();
        resolve(value);
      } else if (closed) {
        cleanup();
        reject(new Error(`run ended before ${what}\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${what} within 20 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 20_000);
    const cleanup = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
  let answered = 0;
  const ask = async (line: string): Promise<Answer> => {
    child.stdin.write(`${line}\n`);
    const index = answered++;
    const text = await until(`an answer to ${line}`, () => stdout.split('\n').filter((l) => l.startsWith('{'))[index]);
    return { ...(JSON.parse(text) as Omit<Answer, 'at'>), at: Date.now() };
  };
  return {
    get: (url) => ask(`GET ${url}`),
    upgrade: (url) => ask(`WS ${url}`),
    logged: async (pattern, from) => void (await until(`${pattern} in run's output`, () => (pattern.test(stderr.slice(from)) ? true : undefined))),
    mark: () => stderr.length,
    async exit(code) {
      child.stdin.end(`EXIT ${code}\n`);
      return { code: await done, stderr };
    },
  };
}

const bearersAt = (path: string) => upstream.received(path).map((r) => headerValues(r.rawHeaders, 'authorization').map((v) => v.replace(/^Bearer /, '')));

/** The proxy's refusal as the child got it, checked for what every refusal carries. */
function refusalOf(answer: Answer, status: number): Record<string, string> {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.match(answer.type ?? '', /^application\/json/);
  const body = JSON.parse(answer.body ?? '') as Record<string, string>;
  assert.equal(body.error, 'authsome_credential_unavailable');
  return body;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`a running \`run\` on ${backend}`, () => {
    let home: OAuthHome;
    let access: StoreAccess = {};
    const token = async () => {
      const result = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: home.env });
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    };

    before(() => {
      ({ home, access } = ready[backend]!);
    });

    it(`the documented story, mid-run: a refresh elsewhere is used within ${PICKUP_MS / 1000} s; a rejected refresh is a 401 naming the fix; after \`login --force\` elsewhere the same run carries the new token`, async () => {
      upstream.reset();
      const run = startRun(home);
      let exited = false;
      try {
        // 1. The child works; another process refreshes the token run holds.
        const first = await token();
        assert.equal((await run.get('https://api.example.test/oauth/mid-run')).status, 200);
        const mark = run.mark();
        const refreshed = await runCli(['refresh', 'testas'], { env: home.env });
        assert.equal(refreshed.code, 0, refreshed.stderr);
        const refreshedAt = Date.now();
        // The child waits until run's change feed has dropped the token it held (no fixed sleep).
        await run.logged(/proxy: credential changed in the store: testas \(default\)/, mark);
        const next = await run.get('https://api.example.test/oauth/mid-run');
        assert.equal(next.status, 200);
        assert.ok(next.at - refreshedAt < PICKUP_MS, `the new token arrived ${next.at - refreshedAt} ms after the refresh ended`);
        const second = await token();
        assert.notEqual(second, first);
        assert.deepEqual(bearersAt('/oauth/mid-run'), [[first], [second]], 'first the token run held, then the one refreshed elsewhere');

        // 2. The token falls due and the provider rejects its refresh: the child hears why, and what to run.
        gate.mode('oauth-error', { error: 'invalid_grant', description: 'grant request is invalid' });
        const dueMark = run.mark();
        await makeDue(home.home, 'testas', 'default', 'default', -1000, access);
        await run.logged(/proxy: credential changed in the store: testas \(default\)/, dueMark);
        const refused = await run.get('https://api.example.test/oauth/rejected');
        const body = refusalOf(refused, 401);
        assert.equal(body.code, 'refresh_failed');
        assert.equal(body.provider, 'testas');
        assert.equal(body.connection, 'default');
        assert.equal(body.message, 'refresh failed for testas (default): invalid_grant');
        assert.match(body.hint ?? '', /authsome login testas --force/);
        assert.equal(refused.challenge, 'Bearer realm="authsome", error="invalid_token", error_description="refresh failed for testas (default): invalid_grant"');
        assert.equal(upstream.received('/oauth/rejected').length, 0, 'the request was not sent on without its credential');
        // A WebSocket upgrade on the same route is refused the same way, never upgraded without it.
        const ws = await run.upgrade('https://api.example.test/ws');
        assert.equal(refusalOf(ws, 401).code, 'refresh_failed');
        assert.equal(upstream.received('/ws').length, 0);

        // 3. The fix the body names, run in another process while the child keeps running.
        gate.mode('pass');
        const login = await runCli(['login', 'testas', '--force'], { env: home.env });
        assert.equal(login.code, 0, login.stderr);
        const loggedInAt = Date.now();
        const again = await run.get('https://api.example.test/oauth/rejected');
        assert.equal(again.status, 200, JSON.stringify(again));
        assert.ok(again.at - loggedInAt < PICKUP_MS, `answered ${again.at - loggedInAt} ms after the login`);
        const third = await token();
        assert.notEqual(third, second);
        assert.deepEqual(bearersAt('/oauth/rejected'), [[third]]);
        const result = await run.exit(5);
        exited = true;
        assert.equal(result.code, 5, 'run exits with the child\'s exit code');
        assertNoSecretIn(JSON.stringify([refused, ws]), await as.issuedTokens(), 'the proxy\'s refusals');
      } finally {
        gate.mode('pass');
        if (!exited) await run.exit(0).catch(() => undefined);
      }
    });

    it('a connection removed in another process: a 401 with the login command, not the removed key', async () => {
      upstream.reset();
      const run = startRun(home);
      try {
        assert.equal((await run.get('https://other.example.test/echo/removed')).status, 200);
        const mark = run.mark();
        const removed = await runCli(['remove', 'acme'], { env: home.env });
        assert.equal(removed.code, 0, removed.stderr);
        const removedAt = Date.now();
        await run.logged(/proxy: credential changed in the store: acme \(default\)/, mark);
        const refused = await run.get('https://other.example.test/echo/removed');
        assert.ok(refused.at - removedAt < PICKUP_MS, `refused ${refused.at - removedAt} ms after the removal`);
        const body = refusalOf(refused, 401);
        assert.equal(body.code, 'credential_missing');
        assert.equal(body.provider, 'acme');
        assert.match(body.hint ?? '', /authsome login acme/);
        assert.deepEqual(upstream.received('/echo/removed').map((r) => headerValues(r.rawHeaders, 'x-api-key')), [[ACME_KEY]], 'the removed key was not sent again');
        assertNoSecretIn(JSON.stringify(refused), [ACME_KEY], 'the refusal');
      } finally {
        assert.equal((await run.exit(0)).code, 0);
        const key = await runCli(['login', 'acme', '--api-key-stdin', '--force'], { env: home.env, input: ACME_KEY });
        assert.equal(key.code, 0, key.stderr);
      }
    });
  });
}
