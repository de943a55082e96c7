// Each command's --help ends with examples to copy and the environment variables it reads; a
// usage error points at that command's own --help. The examples are checked against the parser
// by a test (test/cli/shell-conventions.test.ts), so none can name an option that is gone.
import type { Command } from 'commander';

interface CommandHelp {
  examples: string[];
  /** Variables this command reads besides the ones every command reads (GLOBAL_ENV). */
  env?: Array<[string, string]>;
}

const GLOBAL_ENV: Array<[string, string]> = [
  ['AUTHSOME_HOME', 'the home folder (default ~/.authsome; --home overrides it)'],
  ['AUTHSOME_PROFILE', 'the profile (--profile overrides it)'],
  ['AUTHSOME_MASTER_KEY', 'base64 of a 32-byte master key (CI, containers, fleets)'],
  ['AUTHSOME_PASSPHRASE', 'the passphrase of the passphrase key source'],
  ['AUTHSOME_STORE_URL', 'postgres://… for a shared store, or sqlite'],
  ['AUTHSOME_VERBOSE', '1: debug output on stderr, like --verbose'],
  ['NO_COLOR', 'set: never colour output'],
];

const CLIENT_ENV: Array<[string, string]> = [
  ['<PROVIDER>_CLIENT_ID, <PROVIDER>_CLIENT_SECRET', 'an OAuth app\'s client (names in `authsome inspect <provider>`)'],
];
const REFRESH_ENV: Array<[string, string]> = [
  ['AUTHSOME_REFRESH_TIMEOUT', 'seconds a token request may take (default 20)'],
  ['AUTHSOME_REFRESH_BACKOFF', 'seconds without a new attempt after a transient failure (default 5)'],
];
const DAEMON_ENV: Array<[string, string]> = [['AUTHSOME_PORT', 'the daemon\'s loopback port (default 7998)']];
const BROWSER_ENV: Array<[string, string]> = [['BROWSER', 'the command that opens the browser (%s: the page)']];

/** Keyed by the command's path below `authsome` ("get", "daemon start"). */
export const COMMAND_HELP: Record<string, CommandHelp> = {
  'init': { examples: ['authsome init', 'authsome init --store postgres://authsome@db.internal:5432/authsome'] },
  'whoami': { examples: ['authsome whoami', 'authsome whoami --json'] },
  'doctor': { examples: ['authsome doctor', 'authsome doctor --proxy'] },
  'list': { examples: ['authsome list', 'authsome list --connected --json'] },
  'inspect': { examples: ['authsome inspect github', 'authsome inspect github --json'] },
  'register': { examples: ['authsome register ./acme.json', 'authsome register ./acme.jsonc --force', 'curl -fsS https://example.com/acme.json | authsome register -'] },
  'login': {
    examples: [
      'authsome login github',
      'authsome login github --flow device_code',
      'authsome login github --connection work --scopes repo,read:org',
      'printf \'%s\' "$OPENAI_API_KEY" | authsome login openai --api-key-stdin',
      'authsome login openai --form',
      'authsome login gitlab --base-url https://gitlab.example.com',
      'authsome login https://mcp.example.com/mcp --name example',
    ],
    env: [['<PROVIDER>_API_KEY', 'an API key to store (names in `authsome inspect <provider>`)'], ...CLIENT_ENV, ...DAEMON_ENV, ...BROWSER_ENV],
  },
  'get': {
    examples: ['authsome get github', 'authsome get github --field status', 'authsome get github --connection work --field access_token --show-secret', 'authsome get openai --json'],
    env: REFRESH_ENV,
  },
  'refresh': { examples: ['authsome refresh github', 'authsome refresh github --connection work --json'], env: REFRESH_ENV },
  'run': {
    examples: ['authsome run -- curl -fsS https://api.github.com/user', 'authsome run --only github,openai -- python agent.py', 'authsome run --connection github=work -- node agent.js'],
    env: REFRESH_ENV,
  },
  'route': { examples: ['authsome route https://api.github.com/user', 'authsome route https://gmail.googleapis.com/gmail/v1/users/me/messages --json', 'authsome route https://api.github.com/user --connection github=work'] },
  'headers': {
    examples: ['authsome headers github --json', 'authsome headers google --url https://gmail.googleapis.com/gmail/v1/users/me/messages --json', 'authsome headers openai | curl -fsS -H @- https://api.openai.com/v1/models'],
    env: REFRESH_ENV,
  },
  'mcp': { examples: ['authsome mcp connect https://mcp.example.com/mcp', 'authsome mcp serve --allow-provider github --allow-method GET'] },
  'mcp connect': {
    examples: ['authsome mcp connect https://mcp.example.com/mcp', 'authsome mcp connect my-server --connection work', 'authsome mcp connect https://mcp.example.com/mcp --no-login'],
    env: [...REFRESH_ENV, ...DAEMON_ENV, ...BROWSER_ENV],
  },
  'mcp serve': { examples: ['authsome mcp serve', 'authsome mcp serve --allow-provider github --allow-method GET', 'authsome mcp serve --allow-host api.github.com --allow-host "*.googleapis.com"'], env: REFRESH_ENV },
  'export': {
    examples: ['authsome export openai', 'eval "$(authsome export openai --format shell)"', 'authsome export --format dotenv > .env', 'authsome export github --connection work --json'],
    env: REFRESH_ENV,
  },
  'logout': { examples: ['authsome logout github', 'authsome logout github --connection work'] },
  'revoke': { examples: ['authsome revoke github'] },
  'remove': { examples: ['authsome remove acme', 'authsome remove acme --profile ci'] },
  'unregister': { examples: ['authsome unregister acme', 'authsome unregister acme --force'] },
  'set-default': { examples: ['authsome set-default github work'] },
  'profile': { examples: ['authsome profile', 'authsome profile create ci --description "CI runners"', 'authsome profile use ci'] },
  'profile list': { examples: ['authsome profile list', 'authsome profile list --json'] },
  'profile create': { examples: ['authsome profile create ci --description "CI runners"'] },
  'profile use': { examples: ['authsome profile use ci'] },
  'migrate': { examples: ['authsome migrate --to postgres://authsome@db.internal:5432/authsome', 'authsome migrate --to sqlite'] },
  'rekey': { examples: ['authsome rekey', 'AUTHSOME_NEW_MASTER_KEY="$(openssl rand -base64 32)" authsome rekey'], env: [['AUTHSOME_NEW_MASTER_KEY', 'the key to move to, when the key comes from AUTHSOME_MASTER_KEY']] },
  'log': { examples: ['authsome log', 'authsome log -n 20 --event refresh', 'authsome log --json'] },
  'daemon': { examples: ['authsome daemon status', 'authsome daemon restart'], env: DAEMON_ENV },
  'daemon start': { examples: ['authsome daemon start'], env: [...DAEMON_ENV, ['AUTHSOME_DAEMON_REFRESH_INTERVAL', 'seconds between scans for tokens to renew (default 30)']] },
  'daemon stop': { examples: ['authsome daemon stop'] },
  'daemon restart': { examples: ['authsome daemon restart'], env: DAEMON_ENV },
  'daemon status': { examples: ['authsome daemon status', 'authsome daemon status --json'] },
  'daemon logs': { examples: ['authsome daemon logs', 'authsome daemon logs -n 200'] },
  'daemon serve': { examples: ['authsome daemon serve', 'authsome daemon serve --log-file /var/log/authsome.log'], env: [...DAEMON_ENV, ['AUTHSOME_DAEMON_REFRESH_INTERVAL', 'seconds between scans for tokens to renew (default 30)']] },
  'ui': { examples: ['authsome ui', 'authsome ui --no-browser'], env: [...DAEMON_ENV, ...BROWSER_ENV] },
  'completion': { examples: ['authsome completion bash > ~/.local/share/bash-completion/completions/authsome', 'authsome completion zsh > "${fpath[1]}/_authsome"', 'authsome completion fish > ~/.config/fish/completions/authsome.fish'] },
};

/** The path of a command below the program ("daemon start"). */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command below the program, depth first, hidden ones included. */
export function allCommands(program: Command): Command[] {
  return program.commands.flatMap((command) => [command, ...allCommands(command)]);
}

function section(title: string, rows: string[]): string {
  return rows.length ? `\n${title}:\n${rows.map((row) => `  ${row}`).join('\n')}\n` : '';
}

function envRows(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, meaning]) => `${name.padEnd(width)}  ${meaning}`);
}

/**
 * Examples and environment variables after each command's help, global options listed on every
 * command (they may come before or after it), and usage errors that name the command's own help.
 */
export function decorateHelp(program: Command): void {
  program.addHelpText('after', section('Examples', ['authsome login github', 'authsome get github --field status', 'authsome run -- curl -fsS https://api.github.com/user', 'authsome help get'])
    + section('Environment', envRows(GLOBAL_ENV)));
  for (const command of allCommands(program)) {
    const path = commandPath(command);
    command.showHelpAfterError(`(run \`authsome ${path} --help\` for usage)`);
    const help = COMMAND_HELP[path];
    if (!help) continue;
    command.addHelpText('after', section('Examples', help.examples.map((e) => `$ ${e}`)) + section('Environment', envRows([...(help.env ?? []), ...GLOBAL_ENV])));
  }
}
