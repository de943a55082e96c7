// The README's provider examples cannot go stale: each ```jsonc block under "Provider definitions
// → Examples" is merged into a minimal definition and registered through the built CLI, which must
// accept it with no unknown field; and every schema addition of issue 15 has its example there.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { runCli } from '../support/cli.ts';
import { REPO_ROOT, cleanupHomes, freshHome } from '../support/homes.ts';

after(cleanupHomes);

type Json = Record<string, unknown>;

/** The ```jsonc blocks of the README's "### Examples" section (up to the next "## " heading). */
function readmeExamples(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### Examples\n');
  assert.ok(start >= 0, 'the README has an Examples section under Provider definitions');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  return [...section.matchAll(/```jsonc\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function isObject(value: unknown): value is Json {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value);
}

function merge(base: Json, part: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(part)) out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Json, value) : value;
  return out;
}

/** The dotted paths of an object's fields (arrays are leaves; a route's headers count as routes[].headers). */
function paths(value: Json, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix + key;
    if (key === 'routes' && Array.isArray(child)) return [path, ...child.flatMap((route) => (isObject(route) ? Object.keys(route).map((k) => `routes[].${k}`) : []))];
    return isObject(child) && !path.endsWith('headers') ? [path, ...paths(child, `${path}.`)] : [path];
  });
}

const ADDITIONS = [
  'routes', 'routes[].headers', 'api_key.fields', 'api_key.headers', 'api_key.header_prefix', 'oauth.header_prefix', 'oauth.scope_separator',
  'oauth.public_client_auth', 'oauth.pkce_support', 'oauth.revocation', 'oauth.token_response_path', 'oauth.refresh_token_lifetime',
  'oauth.refresh_token_idle_lifetime', 'oauth.tenant', 'client.tenant_env', 'oauth.headers', 'oauth.default_token_lifetime', 'variant_of', 'sources',
];

describe('the README\'s provider examples', () => {
  const examples = readmeExamples().map((text, index) => {
    const errors: ParseError[] = [];
    const value = parse(text, errors, { allowTrailingComma: true }) as unknown;
    assert.deepEqual(errors.map((e) => printParseErrorCode(e.error)), [], `example ${index + 1} is JSONC`);
    assert.ok(isObject(value), `example ${index + 1} is an object`);
    return value;
  });

  it('each one registers, with no unknown field', async () => {
    const home = freshHome();
    const files = mkdtempSync(join(tmpdir(), 'readme-examples-'));
    after(() => rmSync(files, { recursive: true, force: true }));
    assert.ok(examples.length >= 10);
    for (const [index, example] of examples.entries()) {
      const name = `readme-example-${index + 1}`;
      const base: Json = 'api_key' in example
        ? { schema_version: 1, name, auth_type: 'api_key', flow: 'api_key', host_url: 'api.example.com' }
        : { schema_version: 1, name, auth_type: 'oauth2', flow: 'pkce', oauth: { authorization_url: 'https://auth.example.com/authorize', token_url: 'https://auth.example.com/token' }, host_url: 'api.example.com' };
      const file = join(files, `${name}.json`);
      writeFileSync(file, JSON.stringify(merge(base, example)));
      const result = await runCli(['register', file, '--json'], { home });
      assert.equal(result.code, 0, `example ${index + 1}: ${result.stderr}${result.stdout}`);
      assert.deepEqual((JSON.parse(result.stdout) as { warnings?: unknown[] }).warnings ?? [], [], `example ${index + 1} has no unknown field`);
    }
  });

  it('every schema addition has one', () => {
    const covered = new Set(examples.flatMap((example) => paths(example)));
    assert.deepEqual(ADDITIONS.filter((path) => !covered.has(path)), []);
  });
});
