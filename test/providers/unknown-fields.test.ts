// A field no schema knows (a typo such as oauth.refresh_ulr) is reported by its JSON path — by
// `register` on stderr and in --json, and by `doctor` as a warning — and never stops the file
// from being installed; fields of the Python authsome's models raise no warning.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, runCliJson } from '../support/cli.ts';
import { cleanupHomes, freshHome, tempDir } from '../support/homes.ts';

let home: string;
let files: string;

before(async () => {
  home = freshHome();
  files = tempDir();
  const init = await runCli(['init'], { home });
  assert.equal(init.code, 0, init.stderr);
});
after(() => cleanupHomes());

function write(name: string, definition: Record<string, unknown>): string {
  const path = join(files, name);
  writeFileSync(path, JSON.stringify(definition, null, 2));
  return path;
}

const oauthDefinition = (name: string, oauth: Record<string, unknown>) => ({
  schema_version: 1, name, auth_type: 'oauth2', flow: 'pkce',
  oauth: { authorization_url: 'https://typo.test/authorize', token_url: 'https://typo.test/token', ...oauth },
});

interface DoctorJson {
  healthy: boolean;
  findings: Array<{ check: string; status: string; message: string; fix?: string }>;
}

describe('unknown fields in provider definitions', () => {
  it('register warns with the field path (and a likely fix), installs the file, exits 0', async () => {
    const file = write('typo.json', oauthDefinition('typo', { refresh_ulr: 'https://typo.test/refresh' }));
    const result = await runCli(['register', file], { home });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^Warning: .*typo\.json: unknown field oauth\.refresh_ulr \(did you mean oauth\.refresh_url\?\); it is kept, but authsome does not use it$/m);
    assert.match(result.stdout, /Registered typo/);
    assert.ok(existsSync(join(home, 'providers', 'typo.json')));
  });

  it('register takes sources without a warning, and refuses one that cites no field of the definition', async () => {
    const cited = (facts: string[]) => ({
      ...oauthDefinition('cited', {}), host_url: 'api.typo.test',
      sources: [{ url: 'https://typo.test/docs/oauth', facts }],
    });
    const good = await runCli(['register', write('cited.json', cited(['host_url', 'oauth.token_url']))], { home });
    assert.equal(good.code, 0, good.stderr);
    assert.doesNotMatch(good.stderr, /Warning/);
    const bad = await runCli(['register', write('cited.json', cited(['host_ulr'])), '--force'], { home });
    assert.equal(bad.code, 3, bad.stderr); // an invalid provider file, as for any other schema error
    assert.match(bad.stderr, /sources\.0\.facts\.0: "host_ulr" names no field this definition sets/);
  });

  it('register --json lists the warnings', async () => {
    const file = write('typo2.json', { ...oauthDefinition('typo2', { scope: ['x'] }), metadata: { anything: { goes: true } }, docs_ulr: 'https://typo.test' });
    const { code, json } = await runCliJson<{ name: string; warnings: Array<{ field: string; message: string }> }>(['register', file], { home });
    assert.equal(code, 0);
    assert.equal(json.name, 'typo2');
    assert.deepEqual(json.warnings.map((w) => w.field), ['oauth.scope', 'docs_ulr']);
    assert.match(json.warnings[0]!.message, /did you mean oauth\.scopes\?/);
    assert.match(json.warnings[1]!.message, /did you mean docs_url\?/);
  });

  it('doctor reports each unknown field as a warning naming the file and the path, and stays healthy', async () => {
    const { code, json } = await runCliJson<DoctorJson>(['doctor'], { home });
    const warnings = json.findings.filter((f) => f.check === 'providers' && f.status === 'warning');
    const installed = join(home, 'providers', 'typo.json');
    assert.ok(warnings.some((f) => f.message === `${installed}: unknown field oauth.refresh_ulr (did you mean oauth.refresh_url?); it is kept, but authsome does not use it`), JSON.stringify(warnings));
    assert.ok(warnings.some((f) => f.message.includes('typo2.json: unknown field docs_ulr')), JSON.stringify(warnings));
    assert.equal(json.healthy, true);
    assert.equal(code, 0);
    const text = await runCli(['doctor'], { home });
    assert.match(text.stdout, /^warn {2}providers: .*typo\.json: unknown field oauth\.refresh_ulr/m);
  });

  it('a Python-style definition (docs_url, api_url, registration, supports_device_code) raises no warning', async () => {
    const file = write('pythonic.json', {
      ...oauthDefinition('pythonic', { supports_device_code: false, device_token_request: 'oauth2_form', revocation_url: 'https://typo.test/revoke' }),
      display_name: 'Pythonic', docs_url: 'https://typo.test/docs', api_url: 'https://api.typo.test',
      registration: { registration_endpoint: 'https://typo.test/register' },
      api_key: null, export: { env: { access_token: 'PYTHONIC_TOKEN' } }, metadata: {},
    });
    const result = await runCliJson<{ warnings: unknown[] }>(['register', file], { home });
    assert.equal(result.code, 0);
    assert.deepEqual(result.json.warnings, []);
    assert.doesNotMatch(result.stderr, /Warning/);
    const doctor = await runCliJson<DoctorJson>(['doctor'], { home });
    assert.ok(!doctor.json.findings.some((f) => f.message.includes('pythonic.json')), JSON.stringify(doctor.json.findings));
  });
});
