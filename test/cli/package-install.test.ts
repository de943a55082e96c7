// The package as a user installs it (issue 17, item 1): `npm pack` of this project, installed into
// an empty prefix from the tarball (its dependencies from the registry, as `npm i -g authsome-cli`
// would take them), then the installed `authsome` run for real — --version, list, login, get, and
// `run -- curl` against a local HTTPS API — and a strict TypeScript consumer compiled against the
// installed types (skipLibCheck off). The tarball holds only what runs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, collectOutput } from '../support/cli.ts';
import { cleanupHomes, freshHome, REPO_ROOT, tempDir } from '../support/homes.ts';
import { startHttpsUpstream, type HttpsUpstream } from '../support/https-upstream.ts';

after(cleanupHomes);

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const require = createRequire(join(REPO_ROOT, 'package.json'));
/** The versions this checkout already has, so npm takes them from its cache. */
const installedVersion = (name: string) => (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;

let prefix: string;
let tarball: string;
let files: string[];
let upstream: HttpsUpstream;

function npm(args: string[], cwd: string) {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8', env: cleanEnv({ npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' }) });
  assert.equal(result.status, 0, `npm ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

before(async () => {
  upstream = await startHttpsUpstream();
  const packed = tempDir();
  // dist/ is already built (npm test builds first); --ignore-scripts keeps `prepare` from rebuilding it under other tests.
  const [info] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', packed], REPO_ROOT)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(packed, info!.filename);
  files = info!.files.map((f) => f.path);
  prefix = tempDir();
  writeFileSync(join(prefix, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  npm(['install', '--prefer-offline', '--no-save', tarball, `typescript@${installedVersion('typescript')}`, `@types/node@${installedVersion('@types/node')}`], prefix);
});
after(async () => upstream?.close());

/** The installed bin, run asynchronously: the HTTPS upstream `run` talks to lives in this process. */
async function authsome(args: string[], home: string, options: { input?: string; env?: Record<string, string> } = {}) {
  const child = spawn(join(prefix, 'node_modules', '.bin', 'authsome'), args, { env: cleanEnv({ AUTHSOME_HOME: home, NO_COLOR: '1', ...options.env }), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(options.input ?? '');
  const { code: status, stdout, stderr } = await collectOutput(child);
  return { status, stdout, stderr };
}

describe(`the packed ${pkg.name}, installed into an empty prefix`, () => {
  it('holds only what runs: dist/, package.json, README.md and LICENSE', () => {
    assert.deepEqual(files.filter((f) => !f.startsWith('dist/')).sort(), ['LICENSE', 'README.md', 'package.json']);
    assert.ok(files.includes('dist/cli/main.js') && files.includes('dist/index.d.ts'));
    assert.ok(!files.some((f) => /\.test\.|^src\/|^test\/|^scripts\//.test(f)));
  });

  it('runs: --version, list, login --api-key-stdin, get, run -- curl', async () => {
    const home = freshHome();
    const version = await authsome(['--version'], home);
    assert.equal(version.stdout.trim(), pkg.version, version.stderr);
    assert.equal((await authsome(['list'], home)).status, 0);
    const definition = join(tempDir(), 'acme.json');
    writeFileSync(definition, JSON.stringify({ schema_version: 1, name: 'acme', display_name: 'Acme', auth_type: 'api_key', flow: 'api_key', host_url: 'api.example.test', api_key: { header_name: 'X-Api-Key' } }));
    assert.equal((await authsome(['register', definition], home)).status, 0);
    const key = 'acme-installed-key-0123456789';
    const login = await authsome(['login', 'acme', '--api-key-stdin'], home, { input: key });
    assert.equal(login.status, 0, login.stderr);
    assert.equal((await authsome(['get', 'acme', '--field', 'api_key', '--show-secret'], home)).stdout.trim(), key);
    const run = await authsome(['run', '--', 'curl', '-fsS', 'https://api.example.test/echo/installed'], home, {
      env: { NODE_EXTRA_CA_CERTS: upstream.caFile, AUTHSOME_TESTING: '1', AUTHSOME_PROXY_CONNECT_TO: upstream.connectTo() },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(upstream.received('/echo/installed')[0]?.headers['x-api-key'], key, 'the API got the key through the installed proxy');
  });

  it('its types compile in a strict consumer (skipLibCheck off)', () => {
    writeFileSync(join(prefix, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'] },
      files: ['consumer.ts'],
    }));
    writeFileSync(join(prefix, 'consumer.ts'), `import { Authsome, AuthLayer, AuthsomeError, CODES, type ListResult, type ProviderInfo } from '${pkg.name}';
const authsome: AuthLayer = new Authsome({ home: '/tmp/nowhere', env: {} });
export async function main(): Promise<string[]> {
  try {
    const list: ListResult = await authsome.list();
    const info: ProviderInfo = await authsome.inspect('github');
    const headers: Record<string, string> = await authsome.authHeaders('openai');
    return [list.profile, info.source, ...Object.keys(headers)];
  } catch (error) {
    if (error instanceof AuthsomeError && CODES[error.code][0] === 5) return [];
    throw error;
  } finally {
    await authsome.close();
  }
}
`);
    const tsc = spawnSync(process.execPath, [join(prefix, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', prefix], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });
});
