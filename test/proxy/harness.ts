// Shared setup for the `run` proxy tests: homes with API-key providers routed to the test hosts,
// `authsome run` started against the in-process HTTPS upstream (AUTHSOME_PROXY_CONNECT_TO, with the
// AUTHSOME_TESTING=1 that makes it count, in place
// of DNS, the upstream's test CA through NODE_EXTRA_CA_CERTS), and the run's audit entry.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCliJson, runCliJsonLines, startCli, type CliResult, type RunningCli } from '../support/cli.ts';
import { after, before, beforeEach } from 'node:test';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';

/** Canary credentials: none may reach a child, a log or an audit entry. */
export const ACME_KEY = 'acme-secret-key-123456';
export const BETA_KEY = 'beta-secret-key-654321';
export const GIT_KEY = 'ghp_gitsecret0123456789';

/** X-Api-Key on api.example.test; its variable ACME_KEY. */
export const acme = {
  schema_version: 1, name: 'acme', auth_type: 'api_key', flow: 'api_key', host_url: 'api.example.test',
  api_key: { header_name: 'X-Api-Key', env_var: 'ACME_KEY' },
};
/** Authorization: Bearer on third.example.test; its variable BETA_KEY. */
export const beta = {
  schema_version: 1, name: 'beta', auth_type: 'api_key', flow: 'api_key', host_url: 'third.example.test',
  api_key: { env_var: 'BETA_KEY' },
};
/** HTTP Basic (GitHub-style "x-access-token:<key>") on git.example.test. */
export const gitty = {
  schema_version: 1, name: 'gitty', auth_type: 'api_key', flow: 'api_key', host_url: 'git.example.test',
  api_key: { location: 'basic', basic_template: 'x-access-token:{key}', env_var: 'GITTY_TOKEN' },
};

export interface RunOptions {
  only?: string;
  connections?: string[];
  verbose?: boolean;
  env?: Record<string, string | undefined>;
  input?: string;
}

export interface ProxyHome {
  home: string;
  env: Record<string, string>;
  register(definition: Record<string, unknown>): Promise<void>;
  login(provider: string, key: string, connection?: string): Promise<void>;
  /** `authsome [--verbose] run [--only …] [--connection …] -- command…`, waited for. */
  run(command: string[], options?: RunOptions): Promise<CliResult>;
  /** The same, started: for signals and output read while it runs. */
  start(command: string[], options?: RunOptions): RunningCli;
  /** The newest `run` audit entry. */
  lastRun(): Promise<Record<string, any>>;
  cleanup(): Promise<void>;
}

/**
 * The usual setup of a proxy test file (or describe block, where it is called): one HTTPS upstream,
 * reset before each test, and one home with these API-key providers registered and logged in.
 */
export function proxyFixture(logins: Array<[definition: { name: string }, key: string]>): { readonly upstream: HttpsUpstream; readonly h: ProxyHome } {
  let upstream: HttpsUpstream | undefined;
  let h: ProxyHome | undefined;
  before(async () => {
    upstream = await startHttpsUpstream();
    h = await proxyHome(upstream);
    for (const [definition] of logins) await h.register(definition);
    for (const [definition, key] of logins) await h.login(definition.name, key);
  });
  after(async () => {
    await h?.cleanup();
    await upstream?.close();
  });
  beforeEach(() => upstream?.reset());
  return { get upstream() { return upstream!; }, get h() { return h!; } };
}

/** `env` carries AUTHSOME_HOME and whatever the home needs (an OAuth home's daemon port, browser, client id). */
export async function proxyHome(upstream: HttpsUpstream, base?: { home: string; env: Record<string, string> }): Promise<ProxyHome> {
  const ownHome = base ? null : mkdtempSync(join(tmpdir(), 'px-'));
  const home = base?.home ?? ownHome!;
  const env = base?.env ?? { AUTHSOME_HOME: home, AUTHSOME_PORT: '0' };
  if (!base) {
    const init = await runCli(['init'], { env });
    assert.equal(init.code, 0, init.stderr);
  }
  let count = 0;
  const args = (command: string[], o: RunOptions) => [
    ...(o.verbose ? ['--verbose'] : []), 'run',
    ...(o.only ? ['--only', o.only] : []),
    ...(o.connections ?? []).flatMap((c) => ['--connection', c]),
    '--', ...command,
  ];
  const runEnv = (o: RunOptions) => ({
    ...env, NODE_EXTRA_CA_CERTS: upstream.caFile, AUTHSOME_TESTING: '1', AUTHSOME_PROXY_CONNECT_TO: upstream.connectTo(), GIT_TERMINAL_PROMPT: '0', ...o.env,
  });
  return {
    home,
    env,
    async register(definition) {
      const file = join(home, `provider-${count++}.json`);
      writeFileSync(file, JSON.stringify(definition));
      const result = await runCli(['register', file, '--force'], { env });
      assert.equal(result.code, 0, result.stderr);
    },
    async login(provider, key, connection) {
      const result = await runCli(['login', provider, '--api-key-stdin', ...(connection ? ['--connection', connection] : [])], { env, input: key });
      assert.equal(result.code, 0, result.stderr);
    },
    run: (command, o = {}) => runCli(args(command, o), { env: runEnv(o), input: o.input }),
    start: (command, o = {}) => startCli(args(command, o), { env: runEnv(o), input: o.input }),
    async lastRun() {
      const { code, lines } = await runCliJsonLines<Record<string, any>>(['log', '--event', 'run', '-n', '1'], { env });
      assert.equal(code, 0);
      assert.equal(lines.length, 1, 'one run entry');
      return lines[0]!;
    },
    async cleanup() {
      await runCli(['daemon', 'stop'], { env });
      if (ownHome) rmSync(ownHome, { recursive: true, force: true });
    },
  };
}

/** The master key of a local_key home, to hand a run as AUTHSOME_MASTER_KEY. */
export function masterKeyOf(home: string): string {
  return (JSON.parse(readFileSync(join(home, 'master.key'), 'utf8')) as { key: string }).key;
}

/** The JSON a child printed last (the upstream's echo), with the run's own output for the failure message. */
export function lastJson(result: CliResult): Record<string, any> {
  const line = result.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  assert.ok(line, `no JSON in the child's output (exit ${result.code})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return JSON.parse(line) as Record<string, any>;
}

/** Every header named `name` among the raw headers that arrived (repeats stay separate). */
export function headerValues(raw: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name.toLowerCase()) values.push(raw[i + 1]!);
  return values;
}

/** Fails when any secret appears in `text`, naming the secret by its first characters only. */
export function assertNoSecretIn(text: string, secrets: string[], where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${secret.slice(0, 6)}… found in ${where}`);
}
