// The test suite's authorization server (oidc-provider: rotating, reuse-detecting refresh tokens)
// in a process of its own, shared by the refresh and store parts: it counts the token endpoint's
// calls per grant type, which is how the benchmark sees how many refreshes really happened. Also
// the `testas` provider pointing at it and what a home needs to log in to it through the test
// suite's simulated browser.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { REPO, node, tsx } from './common.mjs';

/** A server that is not ready within this long is stuck: the benchmark fails. */
const LIMIT_MS = 60_000;

export class TestAuthServer {
  #process = null;
  issuer = null;

  /** Starts the server (access tokens live an hour: only a token made due refreshes); returns its issuer. */
  async start() {
    const server = this.#process = spawn(node, [...tsx('test/support/auth-server-process.ts'), JSON.stringify({ accessTokenTtl: 3600 })], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const noise = (line) => /Unsupported runtime|^oidc-provider (WARNING|NOTICE)/.test(line) || !line.trim();
    this.issuer = await new Promise((resolve, reject) => {
      const fail = (why) => { clearTimeout(timer); reject(new Error(`the test authorization server ${why}: ${stderr.split('\n').filter((l) => !noise(l)).join('\n').trim() || '(no output)'}`)); };
      const timer = setTimeout(() => fail(`was not ready within ${LIMIT_MS / 1000} s`), LIMIT_MS);
      createInterface({ input: server.stdout }).on('line', (line) => {
        try {
          const message = JSON.parse(line);
          if (message.ready) { clearTimeout(timer); resolve(message.issuer); }
        } catch { /* not the ready line */ }
      });
      server.once('error', (error) => fail(`could not start (${error.message})`));
      server.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    });
    return this.issuer;
  }

  resetCounts() {
    return this.#control('POST', 'reset-counts');
  }

  /** refresh_token grants since the last resetCounts(). */
  async refreshCalls() {
    return (await this.#control('GET', 'counts')).token?.refresh_token ?? 0;
  }

  async #control(method, path) {
    const ask = `the test authorization server's ${method} /__control/${path}`;
    const res = await fetch(`${this.issuer}/__control/${path}`, { method }).catch((error) => {
      throw new Error(`${ask} failed (${error.cause?.code ?? error.message}; server ${this.#process.exitCode ?? this.#process.signalCode ?? 'running'})`);
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`${ask} answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  }

  /** Best effort and synchronous (it also runs from signal handlers): closing stdin ends the server. */
  stop() {
    if (this.#process && this.#process.exitCode === null && this.#process.signalCode === null) {
      this.#process.stdin.end();
      this.#process.kill('SIGTERM');
    }
  }
}

/** What a home's environment needs to log in to `testas`: the public client's id and the simulated browser. */
export function testasLoginEnv() {
  return { TESTAS_CLIENT_ID: 'authsome-public', BROWSER: [node, ...tsx('test/support/browser-command.ts')].join(' ') };
}

/** Writes the `testas` provider definition (PKCE against `issuer`) to `file`, for `authsome register`. */
export function writeTestasProvider(file, issuer) {
  writeFileSync(file, JSON.stringify({
    schema_version: 1, name: 'testas', auth_type: 'oauth2', flow: 'pkce',
    oauth: { issuer, scopes: ['openid', 'email', 'offline_access'] }, client: { client_id_env: 'TESTAS_CLIENT_ID' },
  }));
}
