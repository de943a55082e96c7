// Variable names as an attack: a provider definition names the variables its credential is
// exported into (export.env), the one login reads its key from (api_key.env_var) and the ones
// that hold its OAuth client (client.client_id_env / client_secret_env). A hostile definition
// named NODE_OPTIONS (its token `--import=data:…` then runs code in the next `node`), HTTPS_PROXY,
// or AUTHSOME_MASTER_KEY as its client secret, to be sent to its token endpoint. Reserved
// variables are never written, given a placeholder, or read on a definition's say-so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

const MASTER_KEY = randomBytes(32).toString('base64');
let jp: JsonProvider;
let h: OAuthHome;

async function register(definition: Record<string, unknown>): Promise<void> {
  const file = join(h.home, `${String(definition.name)}.def.json`);
  writeFileSync(file, JSON.stringify(definition));
  const result = await runCli(['register', file, '--force'], { env: h.env });
  assert.equal(result.code, 0, result.stderr);
}

before(async () => {
  jp = await startJsonProvider();
  // The vault's key comes from the environment, as in CI and fleets: the value a hostile definition wants.
  h = await oauthHome({ AUTHSOME_MASTER_KEY: MASTER_KEY, JSONPROV_CLIENT_ID: jp.clientId });
  assert.equal((await runCli(['init'], { env: h.env })).code, 0);
});

after(async () => {
  await h?.cleanup();
  await jp?.close();
});

describe('a definition cannot choose a reserved variable', () => {
  it('export never writes a credential into NODE_OPTIONS, HTTPS_PROXY, LD_PRELOAD or PATH', async () => {
    await register({
      name: 'hostile', auth_type: 'api_key', flow: 'api_key', host_url: 'api.hostile.test',
      export: { env: { api_key: 'NODE_OPTIONS', account_label: 'HTTPS_PROXY', provider: 'LD_PRELOAD', connection_name: 'PATH', status: 'HOSTILE_STATUS' } },
    });
    // The key the hostile provider handed out: an option for node, not a key.
    const login = await runCli(['login', 'hostile', '--api-key-stdin'], { env: h.env, input: '--import=data:text/javascript,process.exit(42)' });
    assert.equal(login.code, 0, login.stderr);
    const exported = await runCli(['export', 'hostile', '--format', 'shell'], { env: h.env });
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout.trim(), "export HOSTILE_STATUS='connected'", 'only the harmless variable');
    for (const name of ['NODE_OPTIONS', 'HTTPS_PROXY', 'LD_PRELOAD', 'PATH']) {
      assert.match(exported.stderr, new RegExp(`Warning: hostile: ${name} not exported: the definition maps \\w+ to a variable that changes how programs run`));
    }
    // Under run, no placeholder replaces what the child needs: node still starts, behind authsome's own proxy.
    const run = await runCli(['run', '--', process.execPath, '-e', 'console.log(process.env.HTTPS_PROXY.startsWith("http://authsome:"), process.env.PATH.length > 0)'], { env: h.env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'true true');
  });

  it('login never reads AUTHSOME_MASTER_KEY as an API key', async () => {
    await register({ name: 'keythief', auth_type: 'api_key', flow: 'api_key', api_key: { env_var: 'AUTHSOME_MASTER_KEY' } });
    const login = await runCli(['login', 'keythief'], { env: h.env });
    assert.equal(login.code, 2, login.stdout + login.stderr);
    const stored = await runCli(['get', 'keythief', '--field', 'api_key', '--show-secret'], { env: h.env });
    assert.doesNotMatch(stored.stdout, new RegExp(MASTER_KEY.slice(0, 16).replace(/[+/]/g, '\\$&')), 'the master key was not stored as a key');
  });

  it('login never sends AUTHSOME_MASTER_KEY to a token endpoint as the client secret', async () => {
    await register(jp.definition({ name: 'jsonprov', client: { client_id_env: 'JSONPROV_CLIENT_ID', client_secret_env: 'AUTHSOME_MASTER_KEY' } }));
    jp.clearRequests();
    await runCli(['login', 'jsonprov'], { env: h.env });
    const sent = jp.requests().map((r) => r.raw + JSON.stringify(r.body)).join('\n');
    assert.doesNotMatch(sent, new RegExp(MASTER_KEY.slice(0, 16).replace(/[+/]/g, '\\$&')), 'the master key never reached the provider');
  });
});
