// Every bundled provider definition is valid, named after its file, and points at HTTPS hosts;
// user definitions in the Python format (the fixture's localtest.json) still validate unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findUnknownFields } from '../../src/providers/known-fields.ts';
import { providerSchema, type ProviderDefinition } from '../../src/providers/schema.ts';
import { BUNDLED_DIR, keyPatternProblem, parseProviderText } from '../../src/providers/index.ts';
import { FIXTURE_HOME, REPO_ROOT } from '../support/homes.ts';

const files = readdirSync(BUNDLED_DIR).filter((name) => name.endsWith('.json'));

test('the catalogue has at least 60 providers, including the ones the Python store names', () => {
  assert.ok(files.length >= 60, `${files.length} bundled providers`);
  for (const name of ['github', 'openai', 'resend', 'google', 'slack', 'anthropic', 'stripe', 'twilio']) assert.ok(files.includes(`${name}.json`), name);
});

test('every bundled definition validates, matches its file name, and uses https endpoints', async () => {
  const problems: string[] = [];
  for (const file of files) {
    const raw = JSON.parse(readFileSync(join(BUNDLED_DIR, file), 'utf8'));
    const result = providerSchema.safeParse(raw);
    if (!result.success) {
      problems.push(`${file}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      continue;
    }
    const def = result.data;
    if (`${def.name}.json` !== file) problems.push(`${file}: name is ${def.name}`);
    for (const [field, value] of Object.entries(def.oauth ?? {})) {
      if (typeof value === 'string' && field.endsWith('_url') && !/^(https:\/\/|\{base_url\})/.test(value)) problems.push(`${file}: oauth.${field} is not https`);
    }
    if (def.host_url && /[/:]/.test(def.host_url)) problems.push(`${file}: host_url should be a bare host`);
    if (def.export?.env && 'refresh_token' in def.export.env) problems.push(`${file}: exports a refresh token`);
    // Key patterns run in RE2 (linear time), the engine login uses.
    const pattern = def.auth_type === 'api_key' ? def.api_key?.key_pattern : null;
    const problem = pattern ? await keyPatternProblem(pattern) : null;
    if (problem) problems.push(`${file}: api_key.key_pattern ${problem}`);
  }
  assert.deepEqual(problems, []);
});

test('no bundled definition carries a field the schema does not know (every field is read)', () => {
  const unknown = files.flatMap((file) => findUnknownFields(JSON.parse(readFileSync(join(BUNDLED_DIR, file), 'utf8'))).map((f) => `${file}: ${f.path}`));
  assert.equal(files.length, 85);
  assert.deepEqual(unknown, []);
  // The walk itself: a typo is found by its path, free-form maps are not looked into.
  assert.deepEqual(findUnknownFields({ name: 'x', oauth: { refresh_ulr: 'u' }, metadata: { a: { b: 1 } }, export: { env: { api_key: 'X' } } }).map((f) => f.path), ['oauth.refresh_ulr']);
});

/**
 * The facts a definition's `sources` must trace: where the credential goes (`routes`, else
 * `host_url`), how it travels (the api_key transport fields it sets), and for OAuth the endpoints,
 * scopes and protocol choices it sets. A source's fact covers the fields below it.
 */
function factsToTrace(def: ProviderDefinition): string[] {
  const facts: string[] = def.routes ? ['routes'] : def.host_url ? ['host_url'] : [];
  const set = (group: 'api_key' | 'oauth', fields: string[]) => {
    const values = (def[group] ?? {}) as Record<string, unknown>;
    for (const field of fields) if (values[field] !== undefined && values[field] !== null) facts.push(`${group}.${field}`);
  };
  if (def.auth_type === 'api_key') set('api_key', ['header_name', 'header_prefix', 'location', 'query_param', 'basic_template', 'fields', 'headers']);
  else set('oauth', ['authorization_url', 'token_url', 'revocation_url', 'device_authorization_url', 'refresh_url', 'scopes', 'header_prefix', 'scope_separator', 'token_endpoint_auth_method', 'public_client_auth', 'revocation', 'token_response_path']);
  return facts;
}

test('every bundled definition cites the pages its facts come from; what is not yet traced is listed, and only that', () => {
  // catalogue-untraced.json: facts not yet traced to the provider's own documentation or official
  // SDK. The list may only shrink: a fact that gains a source must leave it.
  const untraced = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'providers', 'catalogue-untraced.json'), 'utf8')) as Record<string, string[]>;
  const found: Record<string, string[]> = {};
  const problems: string[] = [];
  for (const file of files) {
    const def = providerSchema.parse(JSON.parse(readFileSync(join(BUNDLED_DIR, file), 'utf8')));
    if (!def.docs?.startsWith('https://')) problems.push(`${file}: docs is not an https link`);
    const cited = (def.sources ?? []).flatMap((source) => source.facts);
    const missing = factsToTrace(def).filter((fact) => !cited.some((c) => fact === c || fact.startsWith(`${c}.`)));
    if (missing.length) found[def.name] = missing;
  }
  assert.deepEqual(problems, []);
  assert.deepEqual(found, untraced);
});

test('sources name https pages and fields the definition sets', async () => {
  const base = { name: 'acme', auth_type: 'api_key', flow: 'api_key', host_url: 'api.acme.test', api_key: { header_name: 'X-Key' } };
  const ok = providerSchema.safeParse({ ...base, sources: [{ url: 'https://acme.test/docs/auth', facts: ['host_url', 'api_key.header_name'] }] });
  assert.equal(ok.success, true);
  const issues = (sources: unknown) => {
    const result = providerSchema.safeParse({ ...base, sources });
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issues([{ url: 'https://acme.test/docs', facts: ['api_key.header_prefix'] }]), ['sources.0.facts.0: "api_key.header_prefix" names no field this definition sets']);
  assert.deepEqual(issues([{ url: 'https://acme.test/docs', facts: ['host_ulr'] }]), ['sources.0.facts.0: "host_ulr" names no field this definition sets']);
  assert.match(issues([{ url: 'http://acme.test/docs', facts: ['host_url'] }]).join(), /sources\.0\.url: must be an https URL/);
  assert.match(issues([{ url: 'https://acme.test/docs', facts: [] }]).join(), /sources\.0\.facts/);
  assert.match(issues([{ url: 'https://acme.test/docs', facts: ['host_url'], note: 'x' }]).join(), /sources\.0/);
  // The Python authsome's models allow extra fields: a definition with sources still loads there, and here no field is unknown.
  assert.deepEqual(findUnknownFields({ ...base, sources: [{ url: 'https://acme.test/docs/auth', facts: ['host_url'] }] }), []);
});

test('a Python user definition validates unchanged and keeps unknown keys', async () => {
  const path = join(FIXTURE_HOME, 'providers', 'localtest.json');
  const text = readFileSync(path, 'utf8');
  const def = await parseProviderText(text.replace('"metadata": {}', '"metadata": {}, "python_extra": 1'), path);
  assert.equal(def.name, 'localtest');
  assert.equal((def as Record<string, unknown>).python_extra, 1);
});

test('JSONC is accepted; errors name the file, line and field', async () => {
  const def = await parseProviderText('{\n // comment\n "name": "x", "auth_type": "api_key", "flow": "api_key",\n}', 'x.jsonc');
  assert.equal(def.name, 'x');
  await assert.rejects(parseProviderText('{\n "name": "x",, }', 'bad.json'), /bad\.json:2:\d+: /);
  await assert.rejects(parseProviderText('{"name": "x", "auth_type": "oauth2", "flow": "pkce", "oauth": {"token_url": 5}}', 'p.json'),
    /p\.json: oauth\.token_url: .*expected string/);
  await assert.rejects(parseProviderText('{"name": "x", "auth_type": "oauth2", "flow": "pkce", "oauth": {"token_url": "https://t"}}', 'q.json'),
    /q\.json: oauth\.authorization_url: is required for the pkce flow/);
});
