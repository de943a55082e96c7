// The README's agent recipes (issue 16, part 5), tested as far as this machine allows: every
// configuration block of the Recipes section is parsed (JSON as JSON, Codex's TOML with Python's
// tomllib), and every server it names is started as the host would start it — `authsome` found on
// PATH — by the SDK's own MCP client: `mcp connect` against a local MCP server behind the local
// oidc-provider (in place of mcp.example.com), `mcp serve` as it is; the headersHelper command runs
// through a shell and must print a JSON object of headers; the TypeScript agent compiles strictly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { CLI, cleanEnv, runCli } from '../support/cli.ts';
import { cleanupHomes, REPO_ROOT, tempDir } from '../support/homes.ts';
import { compileStrict } from '../support/strict-consumer.ts';
import { startMcpServer, type McpTestServer } from '../support/mcp-server.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const section = README.slice(README.indexOf('### Recipes'), README.indexOf('\n## ', README.indexOf('### Recipes')));
const fenced = (language: string) => [...section.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === language).map((m) => m[2]!);

interface ServerEntry { command?: string; args?: string[]; type?: string; url?: string; headersHelper?: string }

/** Every MCP server the recipes configure, with where it came from. */
function recipeServers(): Array<{ from: string; name: string; entry: ServerEntry }> {
  const servers: Array<{ from: string; name: string; entry: ServerEntry }> = [];
  fenced('json').forEach((block, i) => {
    const config = JSON.parse(block) as { mcpServers: Record<string, ServerEntry> };
    for (const [name, entry] of Object.entries(config.mcpServers)) servers.push({ from: `json block ${i + 1}`, name, entry });
  });
  fenced('toml').forEach((block, i) => {
    const parsed = spawnSync('python3', ['-c', 'import json, sys, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))'], { input: block, encoding: 'utf8' });
    assert.equal(parsed.status, 0, parsed.stderr);
    const config = JSON.parse(parsed.stdout) as { mcp_servers: Record<string, ServerEntry> };
    for (const [name, entry] of Object.entries(config.mcp_servers)) servers.push({ from: `toml block ${i + 1}`, name, entry });
  });
  return servers;
}

let as: AuthServer;
let mcp: McpTestServer;
let h: OAuthHome;
let bin: string;
before(async () => {
  as = await startAuthServer({ loopbackResources: true });
  mcp = await startMcpServer({ discovery: 'challenge', introspect: (token) => as.tokenStatus(token) });
  mcp.attach(as.issuer);
  h = await oauthHome({ AUTHSOME_TESTING: '1' });
  // `authsome` on PATH, as an installed package puts it.
  bin = tempDir();
  symlinkSync(CLI, join(bin, 'authsome'));
});
after(async () => {
  cleanupHomes();
  await h?.cleanup();
  await mcp?.close();
  await as?.close();
});

const hostEnv = () => cleanEnv({ ...h.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' });

/** Starts a configured stdio server as a host does and lists its tools with the SDK's client. */
async function toolsOf(entry: ServerEntry): Promise<string[]> {
  // The one substitution: the local MCP server in place of the example's remote one.
  const args = (entry.args ?? []).map((arg) => (arg === 'https://mcp.example.com/mcp' ? mcp.url : arg));
  const transport = new StdioClientTransport({ command: entry.command!, args, env: hostEnv(), stderr: 'pipe' });
  const client = new Client({ name: 'recipe-host', version: '1.0.0' });
  await client.connect(transport);
  try {
    return (await client.listTools()).tools.map((tool) => tool.name).sort();
  } finally {
    await client.close();
  }
}

describe('the README recipes', () => {
  it('configure Claude Code, Codex, Cursor and Claude Desktop, each server named by a command authsome has', () => {
    const servers = recipeServers();
    const commands = servers.filter((s) => s.entry.command);
    assert.ok(commands.length >= 6, `found ${commands.length} command servers`);
    assert.ok(commands.every((s) => s.entry.command === 'authsome' && ['connect', 'serve'].includes(s.entry.args?.[1] ?? '')), JSON.stringify(commands));
    assert.ok(servers.some((s) => s.entry.headersHelper), 'a headersHelper recipe');
    assert.ok(fenced('toml').length === 1, 'the Codex recipe');
  });

  it('each mcp connect server relays the remote server\'s tools (logging in the first time), each mcp serve server offers its tools', async () => {
    const seen = new Map<string, string[]>();
    for (const { from, name, entry } of recipeServers().filter((s) => s.entry.command)) {
      const tools = await toolsOf(entry);
      seen.set(`${from} ${name}`, tools);
      if (entry.args![1] === 'connect') assert.ok(tools.includes('echo'), `${from} ${name}: ${tools.join(', ')}`);
      else assert.deepEqual(tools.filter((t) => ['http_request', 'list_connections', 'request_login'].includes(t)).length, 3, `${from} ${name}: ${tools.join(', ')}`);
    }
    // One login served every recipe that names the server.
    const logins = (await runCli(['log', '--event', 'login', '--json'], { env: h.env })).stdout.trim().split('\n').filter(Boolean);
    assert.equal(logins.length, 1, logins.join('\n'));
  });

  it('the headersHelper command prints the JSON object of headers Claude Code sends', async () => {
    const helper = recipeServers().find((s) => s.entry.headersHelper)!.entry;
    const definition = join(tempDir(), 'example.json');
    writeFileSync(definition, JSON.stringify({ schema_version: 1, name: 'example', display_name: 'Example', auth_type: 'api_key', flow: 'api_key', host_url: new URL(helper.url!).host }));
    assert.equal((await runCli(['register', definition], { env: h.env })).code, 0);
    assert.equal((await runCli(['login', 'example', '--api-key-stdin'], { env: h.env, input: 'ex-key-0123456789abcdef' })).code, 0);
    const result = spawnSync('sh', ['-c', helper.headersHelper!], { env: hostEnv(), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { Authorization: 'Bearer ex-key-0123456789abcdef' });
  });

  it('the TypeScript agent compiles in a strict project against the built typings', () => {
    const [agent] = fenced('ts');
    assert.ok(agent?.includes('authsome.fetch('));
    const tsc = compileStrict(agent!);
    assert.equal(tsc.status, 0, tsc.output);
  });
});
