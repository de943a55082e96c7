// The dashboard's view-models on their own: what reaches a page from the broker's list and
// records (never a secret, even when handed one), and how audit entries become rows, the refresh
// chart and the proxy's per-host counts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListResult } from '../../src/broker/index.ts';
import { buildAuditView } from '../../src/daemon/dashboard/audit-view.ts';
import { renderRefreshChart } from '../../src/daemon/dashboard/pages/chart.ts';
import { usageLines } from '../../src/daemon/dashboard/usage.ts';
import { buildDashboardView, filterView } from '../../src/daemon/dashboard/view-model.ts';

const SECRET = 'gho_canarysecretvalue0123456789';

const list: ListResult = {
  profile: 'default',
  problems: [],
  providers: [
    {
      name: 'github', display_name: 'GitHub', auth_type: 'oauth2', flow: 'pkce', source: 'bundled', state: 'connected',
      connections: [
        { connection_name: 'default', auth_type: 'oauth2', status: 'connected', default: true, scopes: ['repo'], expires_at: '2030-01-01T00:00:00+00:00', account: { id: '1', label: 'octo' } },
        { connection_name: 'work', auth_type: 'oauth2', status: 'invalid', default: false, scopes: null, expires_at: null },
      ],
    },
    { name: 'openai', display_name: 'OpenAI', auth_type: 'api_key', flow: 'api_key', source: 'bundled', state: 'available', connections: [] },
  ],
};

describe('the connections view-model', () => {
  test('copies only allowed fields, and masks a credential even when the broker handed it over raw', () => {
    const view = buildDashboardView(list, (provider, connection) =>
      connection === 'default'
        ? { access_token: SECRET, metadata: { last_refresh_at: '2029-12-31T23:00:00Z', last_refresh_error: null, refresh_token: SECRET } }
        : { access_token: '****', metadata: { last_refresh_error: 'invalid_grant' }, refresh_token: SECRET } as never,
    );
    const json = JSON.stringify(view);
    assert.ok(!json.includes(SECRET), json);
    const [main, work] = view.providers[0]!.connections;
    assert.equal(main!.credential, 'gho_****');
    assert.equal(main!.account, 'octo');
    assert.equal(main!.expires_at, '2030-01-01T00:00:00.000Z');
    assert.equal(main!.last_refresh_at, '2029-12-31T23:00:00.000Z');
    assert.equal(work!.last_refresh_error, 'invalid_grant');
    assert.deepEqual(view.counts, { available: 1, configured: 0, connected: 1, expired: 0, invalid: 1 });
  });

  test('filters rows by state and by text', () => {
    const view = buildDashboardView(list, () => null);
    assert.deepEqual(filterView(view, { state: 'invalid' }).map((p) => [p.name, p.connections.map((c) => c.connection)]), [['github', ['work']]]);
    assert.deepEqual(filterView(view, { state: 'available' }).map((p) => p.name), ['openai']);
    assert.deepEqual(filterView(view, { q: 'OCTO' }).map((p) => [p.name, p.connections.map((c) => c.connection)]), [['github', ['default']]]);
  });
});

describe('the audit view', () => {
  const now = Date.parse('2030-01-02T12:30:00Z');
  const entries = [
    { timestamp: '2030-01-02T10:05:00+00:00', event: 'refresh', provider: 'github', connection: 'default', outcome: 'refreshed', status: 'success' },
    { timestamp: '2030-01-02T10:45:00+00:00', event: 'refresh', provider: 'github', connection: 'default', outcome: 'transient_failure', reason: 'timeout', status: 'failure' },
    { timestamp: '2030-01-02T11:10:00+00:00', event: 'refresh', provider: 'slack', connection: 'default', outcome: 'rejected', status: 'failure' },
    { timestamp: '2030-01-02T11:20:00+00:00', event: 'run', command: 'node', hosts: { 'api.github.com': { requests: 3, intercepted: true }, 'example.com': { requests: 0, intercepted: false } }, exit_code: 0, status: 'success' },
    { timestamp: '2030-01-02T12:00:00+00:00', event: 'run', command: 'curl', hosts: { 'api.github.com': { requests: 2, intercepted: true } }, exit_code: 1, status: 'failure' },
    { timestamp: '2030-01-02T12:10:00+00:00', event: 'export', providers: ['github'], variables: ['GITHUB_TOKEN'], access_token: SECRET, status: 'success' },
  ];

  test('rows newest first, outcome from refresh outcomes and statuses, credential-named fields dropped', () => {
    const view = buildAuditView(entries, {}, now);
    assert.deepEqual(view.rows.map((r) => `${r.event}:${r.outcome}`), ['export:success', 'run:failure', 'run:success', 'refresh:failure', 'refresh:failure', 'refresh:success']);
    assert.ok(!JSON.stringify(view).includes(SECRET));
    assert.match(view.rows[0]!.detail, /variables=\["GITHUB_TOKEN"\]/);
    assert.match(view.rows[1]!.detail, /exit_code=1/, 'exit_code is not mistaken for a secret');
    assert.deepEqual(view.events, ['export', 'refresh', 'run']);
  });

  test('filters by provider (also in `providers`), event, outcome and time', () => {
    assert.deepEqual(buildAuditView(entries, { provider: 'github' }, now).rows.map((r) => r.event), ['export', 'refresh', 'refresh']);
    assert.deepEqual(buildAuditView(entries, { event: 'refresh', outcome: 'failure' }, now).rows.map((r) => r.provider), ['slack', 'github']);
    const window = buildAuditView(entries, { fromMs: Date.parse('2030-01-02T10:30:00Z'), toMs: Date.parse('2030-01-02T11:15:00Z') }, now);
    assert.deepEqual(window.rows.map((r) => r.timestamp), ['2030-01-02T11:10:00.000Z', '2030-01-02T10:45:00.000Z']);
  });

  test('counts refreshes per hour for the chart, and sums proxy requests per host', () => {
    const view = buildAuditView(entries, {}, now);
    assert.equal(view.chart.unit, 'hour');
    assert.equal(view.chart.buckets.length, 25, 'the last day, hour by hour');
    const byHour = Object.fromEntries(view.chart.buckets.filter((b) => b.success || b.failure).map((b) => [b.start.slice(11, 13), [b.success, b.failure]]));
    assert.deepEqual(byHour, { 10: [1, 1], 11: [0, 1] });
    assert.deepEqual([view.chart.success, view.chart.failure], [1, 2]);
    assert.deepEqual(view.proxy, [
      { host: 'api.github.com', requests: 5, runs: 2, intercepted: true },
      { host: 'example.com', requests: 0, runs: 1, intercepted: false },
    ]);
    const weekly = buildAuditView(entries, { fromMs: now - 10 * 86_400_000 }, now);
    assert.equal(weekly.chart.unit, 'day');
    assert.equal(weekly.chart.buckets.length, 11);
  });

  test('the chart is labelled with the span its bars cover: from the first bar\'s start to the last bar\'s end', () => {
    const { chart } = buildAuditView(entries, {}, now);
    assert.equal(chart.from, '2030-01-01T12:00:00.000Z');
    assert.equal(chart.to, '2030-01-02T13:00:00.000Z', 'the hour now in progress (12:00–13:00) is the last bar');
    assert.equal(Date.parse(chart.to) - Date.parse(chart.from), chart.buckets.length * 3_600_000);
    const html = renderRefreshChart(chart);
    assert.match(html, /<desc id="chart-desc">1 refreshes succeeded and 2 failed, per hour, from 2030-01-01 12:00 to 2030-01-02 13:00 UTC\.<\/desc>/);
    assert.match(html, /<p id="chart-range" class="fine">Per hour \(UTC\), <time datetime="2030-01-01T12:00:00.000Z">2030-01-01 12:00<\/time> to <time datetime="2030-01-02T13:00:00.000Z">2030-01-02 13:00<\/time> UTC<\/p>/);
    const daily = buildAuditView(entries, { fromMs: now - 10 * 86_400_000 }, now).chart;
    assert.equal(daily.from, '2029-12-23T00:00:00.000Z');
    assert.equal(daily.to, '2030-01-03T00:00:00.000Z', 'today is the last bar, to its end');
    assert.match(renderRefreshChart(daily), /per day, from 2029-12-23 00:00 to 2030-01-03 00:00 UTC/);
  });
});

describe('the usage lines', () => {
  const openai = { provider: 'openai', connection: 'default', auth_type: 'api_key', env_vars: ['OPENAI_API_KEY'], url: 'https://api.openai.com/' };
  test('the default connection of the default profile: plain commands and the library', () => {
    assert.deepEqual(usageLines(openai, { profile: 'default', isDefaultProfile: true, isDefaultConnection: true }).map((l) => l.text), [
      'authsome get openai --field status',
      'eval "$(authsome export openai --format shell)" # sets OPENAI_API_KEY',
      'authsome run -- curl https://api.openai.com/',
      'authsome headers openai --json',
      "import { Authsome } from 'authsome-cli';\nconst authsome = new Authsome();\nconst response = await authsome.fetch('https://api.openai.com/');",
    ]);
  });

  test('another connection and profile are named; no route, no library line; odd names are quoted for the shell', () => {
    const lines = usageLines({ ...openai, connection: "o'k", url: null }, { profile: 'work', isDefaultProfile: false, isDefaultConnection: false }).map((l) => l.text);
    assert.deepEqual(lines, [
      "authsome get openai --connection 'o'\\''k' --field status --profile work",
      "eval \"$(authsome export openai --connection 'o'\\''k' --format shell --profile work)\" # sets OPENAI_API_KEY",
      "authsome run --connection 'openai=o'\\''k' --profile work -- <command>",
      "authsome headers openai --connection 'o'\\''k' --json --profile work",
    ]);
  });
});
