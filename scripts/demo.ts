// `npm run demo`: the main job end to end on this machine, with no account and no network. It
// starts the same local authorization server the tests use (oidc-provider) and a small API
// behind it, registers a provider for them in a throwaway home, and runs the real CLI: log in
// with the device flow (the code is approved for you), list, get, hand the token to curl, watch
// a short-lived token get refreshed, run curl behind the credential-injecting proxy (the child
// never sees the token), log out (the provider revokes it), showing each step's output.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAuthServer } from '../test/support/auth-server.ts';
import { approveUserCode } from '../test/support/browser-sim.ts';
import { startHttpsUpstream } from '../test/support/https-upstream.ts';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const step = (title: string) => console.log(`\n${paint(1, `▶ ${title}`)}`);
const note = (text: string) => console.log(paint(2, `  ${text}`));

const home = mkdtempSync(join(tmpdir(), 'authsome-demo-'));
const env: NodeJS.ProcessEnv = { ...process.env, AUTHSOME_HOME: home, AUTHSOME_PORT: '0', DEMO_CLIENT_ID: 'authsome-public', NO_COLOR: '1' };
for (const key of Object.keys(env)) if (key.startsWith('AUTHSOME_') && !['AUTHSOME_HOME', 'AUTHSOME_PORT'].includes(key)) delete env[key];

/** Runs `authsome …` (or a shell line) visibly; `onStderr` may act on what it prints. */
function run(display: string, argv: string[], onStderr?: (text: string) => void): Promise<number> {
  console.log(paint(36, `$ ${display}`));
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const indent = (text: string) => text.replace(/^(?=.)/gm, '  ');
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => process.stdout.write(indent(chunk)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      process.stdout.write(paint(2, indent(chunk)));
      seen += chunk;
      onStderr?.(seen);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}
const authsome = (args: string) => run(`authsome ${args}`, [process.execPath, CLI, ...args.split(' ')]);

// Short-lived tokens (20 s), so the demo can show a refresh: authsome renews a token inside
// min(300 s, half its lifetime) of expiry — here, after 10 s.
const TOKEN_SECONDS = 20;
const server = await startAuthServer({ accessTokenTtl: TOKEN_SECONDS });
// An HTTPS API for `run`: api.example.test, reached without DNS (AUTHSOME_PROXY_CONNECT_TO), with
// its own test CA trusted by authsome (NODE_EXTRA_CA_CERTS). It echoes what it received.
const api = await startHttpsUpstream(['api.example.test']);
env.AUTHSOME_PROXY_CONNECT_TO = api.connectTo();
env.AUTHSOME_TESTING = '1'; // the switch above is honoured only with it
env.NODE_EXTRA_CA_CERTS = api.caFile;
let failed = false;
try {
  console.log(paint(1, 'authsome demo') + ` — a local authorization server at ${server.issuer} and an API at ${server.apiUrl}`);
  note(`throwaway home: ${home}`);

  step('Describe the provider (any OAuth server works from a small JSON file)');
  const definition = {
    schema_version: 1, name: 'demo', display_name: 'Demo API', auth_type: 'oauth2', flow: 'device_code',
    oauth: { issuer: server.issuer, scopes: ['openid', 'email', 'offline_access'] },
    host_url: 'api.example.test',
    client: { client_id_env: 'DEMO_CLIENT_ID' },
    export: { env: { access_token: 'DEMO_TOKEN' } },
  };
  const file = join(home, 'demo-provider.json');
  writeFileSync(file, JSON.stringify(definition, null, 2));
  await authsome('init');
  await authsome(`register ${file}`);

  step('Log in with the device flow (RFC 8628), as on a machine with no browser');
  note('A person would open the link on their phone and type the code; the demo approves it on the server\'s own pages.');
  let approving = false;
  const loginCode = await run('authsome login demo', [process.execPath, CLI, 'login', 'demo'], (seen) => {
    const match = /open (\S+) on any device and enter the code:\n\n {4}(\S+)/.exec(seen);
    if (match && !approving) {
      approving = true;
      void approveUserCode(match[1]!, match[2]!).then(() => note(`(approved code ${match[2]} as alice)`));
    }
  });
  if (loginCode !== 0) throw new Error('login failed');

  step('See what is connected');
  await authsome('list --connected');
  await authsome('get demo');

  step('Hand the token to a program: curl calls the API with it, the token never typed or pasted');
  const line = `eval "$(authsome export demo --format shell)" && curl -s -H "Authorization: Bearer $DEMO_TOKEN" ${server.apiUrl}`;
  await run(line, ['sh', '-c', line.replaceAll('authsome ', `"${process.execPath}" "${CLI}" `)]);
  console.log();

  step(`Keep working: the ${TOKEN_SECONDS} s token falls due, and the next caller gets a fresh one`);
  note(`Waiting ${TOKEN_SECONDS / 2 + 1} s for the token to enter its refresh window…`);
  await authsome('get demo --field expires_at');
  await new Promise((resolve) => setTimeout(resolve, (TOKEN_SECONDS / 2 + 1) * 1000));
  await run(line, ['sh', '-c', line.replaceAll('authsome ', `"${process.execPath}" "${CLI}" `)]);
  console.log();
  await authsome('get demo --field expires_at');
  await authsome('log --event refresh -n 1');
  note('One refresh, with the rotated refresh token stored before the new access token was handed out.');

  step('Run a program behind the proxy: its HTTPS requests get the token, its environment never does');
  await run(`authsome run -- sh -c 'echo "DEMO_TOKEN=$DEMO_TOKEN"'`, [process.execPath, CLI, 'run', '--', 'sh', '-c', 'echo "DEMO_TOKEN=$DEMO_TOKEN"']);
  await run('authsome run -- curl -sS https://api.example.test/echo/me', [process.execPath, CLI, 'run', '--', 'curl', '-sS', '-o', '/dev/null', 'https://api.example.test/echo/me']);
  const seen = api.received('/echo/me').at(-1)?.headers.authorization;
  note(`The API received: Authorization: ${typeof seen === 'string' ? seen.replace(/^(Bearer \S{4})\S+/, '$1****') : '(nothing)'}`);
  await authsome('log --event run -n 1');

  step('Log out: the provider revokes the grant (RFC 7009), then the connection is removed');
  await authsome('logout demo');
  await authsome('log -n 3');
} catch (error) {
  failed = true;
  console.error(paint(31, `demo failed: ${(error as Error).message}`));
} finally {
  await authsome('daemon stop');
  await server.close();
  await api.close();
  rmSync(home, { recursive: true, force: true });
}
console.log(`\n${failed ? 'The demo stopped early.' : 'Done. Everything ran on this machine; the throwaway home is gone.'}`);
process.exitCode = failed ? 1 : 0;
