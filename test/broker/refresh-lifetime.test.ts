// Refresh tokens that lapse (issue 15): the response's refresh_expires_in, or the definition's
// refresh_token_lifetime / refresh_token_idle_lifetime, becomes the record's refresh_expires_at;
// get and list show it; an idle window is kept alive by a refresh — an access call's or the
// daemon's, through the same refresh protocol — and a date a refresh cannot move is warned about
// on stderr, in list and in doctor. Through the built CLI against test/support/json-provider.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toRecordTimestamp } from '../../src/util/index.ts';
import { Vault, keys, type ConnectionRecord } from '../../src/vault/index.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { startJsonProvider, type JsonProvider } from '../support/json-provider.ts';
import { oauthHome, type OAuthHome } from '../support/oauth-home.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Rewrites the stored connection as the passing of time would have left it. */
async function editConnection(home: string, edit: (record: ConnectionRecord) => ConnectionRecord): Promise<void> {
  const vault = new Vault({ home, secrets: {} });
  try {
    const key = keys.connection('default', 'jsonprov', 'default');
    await vault.transaction('default', async (tx) => {
      const record = await tx.read('connection', key);
      if (!record) throw new Error(`no record at ${key}`);
      await tx.write('connection', key, edit(record));
    });
  } finally {
    await vault.close();
  }
}

const at = (ms: number) => toRecordTimestamp(new Date(Date.now() + ms));

/** A refresh token some time into its window: `fromMs` since its date last moved, `leftMs` to go; the access token not due. */
const aged = (fromMs: number, leftMs: number, obtainedMs: number) => (record: ConnectionRecord): ConnectionRecord => ({
  ...record,
  obtained_at: at(-obtainedMs), expires_at: at(50 * 60_000),
  refresh_expires_at: at(leftMs), metadata: { ...record.metadata, refresh_expires_from: at(-fromMs) },
});

const field = async (h: OAuthHome, name: string) => {
  const result = await runCli(['get', 'jsonprov', '--field', name, '--show-secret'], { env: h.env });
  assert.equal(result.code, 0, result.stderr);
  return { value: result.stdout.trim(), stderr: result.stderr };
};

interface ListJson { custom: Array<{ name: string; connections: Array<{ refresh_expires_at?: string; refresh_lapses_soon?: boolean }> }> }
const listed = async (h: OAuthHome) => (await runCliJson<ListJson>(['list'], { env: h.env })).json.custom.find((p) => p.name === 'jsonprov')!.connections[0]!;

describe('refresh_expires_in in the token response', () => {
  let provider: JsonProvider;
  let h: OAuthHome;
  before(async () => {
    provider = await startJsonProvider({ refreshExpiresInS: 90 * 86400 });
    h = await oauthHome({ ...provider.clientEnv, AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
    await h.register(provider.definition());
  });
  after(async () => {
    await h?.cleanup();
    await provider?.close();
  });

  it('is stored as refresh_expires_at and shown by get, get --json, list and list --json', async () => {
    const started = Date.now();
    assert.equal((await runCli(['login', 'jsonprov'], { env: h.env })).code, 0);
    const { value } = await field(h, 'refresh_expires_at');
    const stored = Date.parse(value);
    assert.ok(stored >= started + 90 * DAY - 1000 && stored <= Date.now() + 90 * DAY + 1000, `${value} is 90 days after the login`);
    const { json } = await runCliJson<Record<string, unknown>>(['get', 'jsonprov'], { env: h.env });
    assert.equal(json.refresh_expires_at, value);
    const table = await runCli(['get', 'jsonprov'], { env: h.env });
    assert.match(table.stdout, new RegExp(`refresh_expires_at\\s+${value}`));
    const connection = await listed(h);
    assert.equal(connection.refresh_expires_at, value);
    assert.equal(connection.refresh_lapses_soon, false);
    assert.match((await runCli(['list'], { env: h.env })).stdout, /refresh token lapses \d{4}-/);
  });
});

describe('a refresh_expires_in no date can hold', () => {
  let provider: JsonProvider;
  let h: OAuthHome;
  before(async () => {
    provider = await startJsonProvider({ refreshExpiresInS: 1e300 });
    h = await oauthHome({ ...provider.clientEnv, AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
    await h.register(provider.definition());
  });
  after(async () => {
    await h?.cleanup();
    await provider?.close();
  });

  it('is ignored: the login and a refresh that rotated the pair are stored all the same', async () => {
    const login = await runCli(['login', 'jsonprov'], { env: h.env });
    assert.equal(login.code, 0, login.stderr);
    assert.equal((await field(h, 'refresh_expires_at')).value, '');
    const spent = (await field(h, 'refresh_token')).value;
    const refreshed = await runCli(['refresh', 'jsonprov'], { env: h.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const renewed = (await field(h, 'refresh_token')).value;
    assert.notEqual(renewed, spent);
    assert.equal(provider.isLive(renewed), true, 'the grant is alive');
  });
});

describe('a definition\'s refresh_token_idle_lifetime', () => {
  let provider: JsonProvider;
  let h: OAuthHome;
  before(async () => {
    provider = await startJsonProvider();
    h = await oauthHome({ ...provider.clientEnv, AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
    await h.register(provider.definition({ oauth: { refresh_token_idle_lifetime: 86400 } }));
    assert.equal((await runCli(['login', 'jsonprov'], { env: h.env })).code, 0);
  });
  after(async () => {
    await h?.cleanup();
    await provider?.close();
  });

  it('an access call keeps a refresh token that would lapse by idling alive, through the refresh protocol', async () => {
    const before = Date.parse((await field(h, 'refresh_expires_at')).value);
    assert.ok(before > Date.now() + DAY - 60_000, 'a day from the login');
    const spent = (await field(h, 'refresh_token')).value;
    // 20 hours idle: 4 hours left of a 1-day window, inside its last quarter (6 hours).
    await editConnection(h.home, aged(20 * HOUR, 4 * HOUR, 20 * HOUR));
    provider.clearRequests();
    const { value: status, stderr } = await field(h, 'status');
    assert.equal(status, 'connected');
    assert.equal(provider.count('refresh'), 1, 'one refresh, though the access token was not due');
    assert.equal(provider.isLive(spent), false, 'rotated');
    const after = Date.parse((await field(h, 'refresh_expires_at')).value);
    assert.ok(after > Date.now() + DAY - 60_000, 'the idle window starts again');
    assert.doesNotMatch(stderr, /lapses/, 'nothing to warn about: it was kept alive');
    // Kept alive once: the next access does not refresh again.
    await field(h, 'status');
    assert.equal(provider.count('refresh'), 1);
  });

  it('a date a refresh did not move is warned about on stderr by every access call, marked by list and reported by doctor', async () => {
    // Refreshed 30 minutes ago, inside the margin (a quarter of 12 hours), and the date stayed: a hard end.
    await editConnection(h.home, aged(10 * HOUR, 2 * HOUR, 30 * 60_000));
    provider.clearRequests();
    const { stderr } = await field(h, 'status');
    assert.equal(provider.count('refresh'), 0, 'no refresh on every call for a date it cannot move');
    assert.match(stderr, /Warning: the refresh token of jsonprov \(default\) lapses at \S+ \(in 2 hours\), and a refresh did not move that date; log in again before then: authsome login jsonprov --force/);
    const exported = await runCli(['export', 'jsonprov'], { env: h.env });
    assert.match(exported.stderr, /the refresh token of jsonprov \(default\) lapses at/);
    const connection = await listed(h);
    assert.equal(connection.refresh_lapses_soon, true);
    assert.match((await runCli(['list'], { env: h.env })).stdout, /! refresh token lapses/);
    const doctor = await runCliJson<{ findings: Array<{ check: string; status: string; message: string; fix?: string }> }>(['doctor'], { env: h.env });
    const finding = doctor.json.findings.find((f) => f.check === 'refresh token');
    assert.equal(finding?.status, 'warning');
    assert.match(finding!.message, /the refresh token of jsonprov \(default\) lapses at/);
    assert.match(finding!.fix!, /authsome refresh jsonprov/);
  });
});

describe('the daemon keeps an idle refresh token alive', () => {
  let provider: JsonProvider;
  let h: OAuthHome;
  before(async () => {
    provider = await startJsonProvider();
    h = await oauthHome({ ...provider.clientEnv, AUTHSOME_DAEMON_REFRESH_INTERVAL: '1' });
    await h.register(provider.definition({ oauth: { refresh_token_idle_lifetime: 86400 } }));
  });
  after(async () => {
    provider?.release();
    await h?.cleanup();
    await provider?.close();
  });

  it('refreshes a connection whose access token is not due but whose refresh token would lapse by idling', async () => {
    assert.equal((await runCli(['login', 'jsonprov'], { env: h.env })).code, 0);
    assert.equal((await runCliJson<{ running: boolean }>(['daemon', 'status'], { env: h.env })).json.running, true, 'the login left the daemon running');
    const spent = (await field(h, 'refresh_token')).value;
    provider.hang('refresh');
    await editConnection(h.home, aged(20 * HOUR, 4 * HOUR, 20 * HOUR));
    // The daemon's refresh reaches the provider (held there, then let through).
    await Promise.race([
      provider.nextHeld('refresh'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the daemon sent no refresh within 20 s')), 20_000).unref()),
    ]);
    provider.release();
    // Its outcome: the rotated pair stored, the idle window started again (read once the lease is gone).
    const deadline = Date.now() + 20_000;
    let renewed = spent;
    while (renewed === spent && Date.now() < deadline) {
      renewed = (await field(h, 'refresh_token')).value;
    }
    assert.notEqual(renewed, spent);
    assert.equal(provider.isLive(renewed), true);
    assert.ok(Date.parse((await field(h, 'refresh_expires_at')).value) > Date.now() + DAY - 60_000);
  });
});
