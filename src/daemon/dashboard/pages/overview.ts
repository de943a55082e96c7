// The Connections page: every provider and connection with its state, account, scopes, expiry
// countdown, last refresh and default; a search and state filter; and the actions — connect,
// disconnect, make default, refresh — each a small POST form carrying the CSRF token.
import { escapeHtml } from '../../pages/index.ts';
import { STATES, matchesFilter, rows, searchText, type ConnectionView, type DashboardView, type ProviderView, type ViewFilter } from '../view-model.ts';
import { actionForm, renderInstant } from './shell.ts';

export interface OverviewOptions {
  view: DashboardView;
  filter: ViewFilter;
  csrf: string;
}

export function renderOverview({ view, filter, csrf }: OverviewOptions): string {
  const all = rows(view.providers);
  const shownCount = all.filter((row) => matchesFilter(row, filter)).length;
  return [
    `<ul class="summary" aria-label="Connections by state">${STATES.map((s) => `<li><span class="badge state-${s}">${view.counts[s]} ${s}</span></li>`).join('')}</ul>`,
    view.problems.length ? `<div class="alert" role="alert"><p>Some records or provider files could not be read:</p><ul>${view.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul></div>` : '',
    renderConnectForm(view, csrf),
    '<h2 id="connections-heading">Providers and connections</h2>',
    renderFilter(filter),
    `<p id="filter-count" class="fine" role="status">${shownCount} of ${all.length} shown</p>`,
    // Filled by LIVE_SCRIPT when the daemon reports a change made elsewhere.
    '<div id="live" class="notice" role="status" aria-live="polite" hidden><span data-live-text></span> <button type="button" data-live-reload>Reload</button></div>',
    '<div class="table-wrap">',
    '<table class="cards" aria-labelledby="connections-heading">',
    '<thead><tr><th scope="col">Provider</th><th scope="col">Connection</th><th scope="col">State</th><th scope="col">Account</th>' +
      '<th scope="col">Scopes</th><th scope="col">Expires</th><th scope="col">Last refresh</th><th scope="col">Actions</th></tr></thead>',
    '<tbody>',
    ...all.map((row) => renderRow(row.provider, row.connection, row.state, csrf, !matchesFilter(row, filter))),
    '</tbody></table></div>',
  ].filter(Boolean).join('\n');
}

function renderFilter(filter: ViewFilter): string {
  const options = ['', ...STATES].map((s) => `<option value="${s}"${(filter.state ?? '') === s ? ' selected' : ''}>${s || 'Any state'}</option>`).join('');
  return [
    '<form class="filters" method="get" action="/ui" role="search" aria-label="Filter connections">',
    `<div class="field"><label for="filter-q">Search</label><input id="filter-q" name="q" type="search" value="${escapeHtml(filter.q ?? '')}" autocomplete="off"></div>`,
    `<div class="field"><label for="filter-state">State</label><select id="filter-state" name="state">${options}</select></div>`,
    '<div class="field"><button type="submit">Filter</button></div>',
    '</form>',
  ].join('');
}

function renderConnectForm(view: DashboardView, csrf: string): string {
  const options = view.providers
    .filter((p) => p.source !== 'unknown')
    .map((p) => `<option value="${escapeHtml(p.name)}">${escapeHtml(p.display_name)} (${escapeHtml(p.name)})</option>`)
    .join('');
  return [
    '<section aria-labelledby="connect-heading">',
    '<h2 id="connect-heading">Connect a provider</h2>',
    '<form class="filters" method="post" action="/ui/actions/connect">',
    `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`,
    `<div class="field"><label for="connect-provider">Provider</label><select id="connect-provider" name="provider" required>${options}</select></div>`,
    '<div class="field"><label for="connect-connection">Connection name</label><input id="connect-connection" name="connection" value="default" required pattern="[A-Za-z0-9._\\-]+" autocomplete="off"></div>',
    '<div class="field"><label class="check" for="connect-force"><input id="connect-force" name="force" type="checkbox" value="1">Replace an existing connection</label></div>',
    '<div class="field"><button type="submit" class="primary">Connect</button></div>',
    '</form>',
    '<p class="fine">OAuth providers open their sign-in page; API-key providers open a local form. Nothing you type leaves this computer except to the provider.</p>',
    '</section>',
  ].join('\n');
}

function renderRow(provider: ProviderView, connection: ConnectionView | null, state: string, csrf: string, hidden: boolean): string {
  const custom = provider.source === 'custom' ? ' <span class="fine">(custom)</span>' : provider.source === 'unknown' ? ' <span class="fine">(no definition)</span>' : '';
  const search = escapeHtml(searchText({ provider, connection }));
  const cells = [
    `<th scope="row">${escapeHtml(provider.display_name)}${custom}<br><code class="fine">${escapeHtml(provider.name)}</code></th>`,
    `<td data-label="Connection">${connection ? `${escapeHtml(connection.connection)}${connection.default ? ' <span class="badge">default</span>' : ''}${connection.credential ? `<br><code class="fine" aria-label="credential, masked">${escapeHtml(connection.credential)}</code>` : ''}` : '<span class="muted">—</span>'}</td>`,
    `<td data-label="State"><span class="badge state-${escapeHtml(state)}">${escapeHtml(state)}</span></td>`,
    `<td data-label="Account">${connection?.account ? escapeHtml(connection.account) : '<span class="muted">—</span>'}</td>`,
    `<td data-label="Scopes" class="scopes">${connection?.scopes.length ? connection.scopes.map(escapeHtml).join(' ') : '<span class="muted">—</span>'}</td>`,
    `<td data-label="Expires">${renderExpiry(connection)}</td>`,
    `<td data-label="Last refresh">${renderLastRefresh(connection)}</td>`,
    `<td data-label="Actions"><div class="actions">${renderActions(provider, connection, csrf)}</div></td>`,
  ];
  const key = `${provider.name}/${connection?.connection ?? ''}`;
  return `<tr data-state="${escapeHtml(state)}" data-search="${search}" data-row="${escapeHtml(key)}"${hidden ? ' hidden' : ''}>${cells.join('')}</tr>`;
}

function renderExpiry(connection: ConnectionView | null): string {
  if (!connection?.expires_at) return '<span class="muted">—</span>';
  return `<span class="countdown" data-countdown="${escapeHtml(connection.expires_at)}">${escapeHtml(relative(connection.expires_at))}</span><br>` +
    `<span class="fine">${renderInstant(connection.expires_at)}</span>`;
}

function renderLastRefresh(connection: ConnectionView | null): string {
  if (!connection?.last_refresh_at) return '<span class="muted">never</span>';
  return renderInstant(connection.last_refresh_at) +
    (connection.last_refresh_error ? `<br><span class="error-text">failed: ${escapeHtml(connection.last_refresh_error)}</span>` : '');
}

function renderActions(provider: ProviderView, connection: ConnectionView | null, csrf: string): string {
  const who = connection ? `${provider.name} (${connection.connection})` : provider.name;
  const fields = { provider: provider.name, ...(connection ? { connection: connection.connection } : {}) };
  const forms: string[] = [];
  if (!connection || connection.state === 'invalid' || connection.state === 'expired') {
    if (provider.source !== 'unknown') {
      forms.push(actionForm({
        action: '/ui/actions/connect', csrf, label: connection ? 'Reconnect' : 'Connect', accessibleName: `${connection ? 'Reconnect' : 'Connect'} ${who}`,
        fields: { ...fields, connection: connection?.connection ?? 'default', ...(connection ? { force: '1' } : {}) }, primary: !connection,
      }));
    }
  }
  if (connection) {
    if (connection.auth_type === 'oauth2') forms.push(actionForm({ action: '/ui/actions/refresh', csrf, label: 'Refresh', accessibleName: `Refresh ${who}`, fields }));
    if (!connection.default) forms.push(actionForm({ action: '/ui/actions/set-default', csrf, label: 'Make default', accessibleName: `Make ${who} the default`, fields }));
    forms.push(actionForm({
      action: '/ui/actions/disconnect', csrf, label: 'Disconnect', accessibleName: `Disconnect ${who}`, fields,
      confirm: `Disconnect ${who}? authsome asks the provider to revoke its tokens, then removes it from this computer.`,
    }));
  }
  return forms.join('');
}

/** "in 59 min" / "expired", as the page shows it before its script takes over. */
function relative(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  if (ms <= 0) return 'expired';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'in under a minute';
  if (minutes < 120) return `in ${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `in ${hours} h` : `in ${Math.round(hours / 24)} d`;
}

/**
 * Listens to /ui/api/events and says, in a live region, which connection changed elsewhere (a
 * refresh by another process or machine, a login, a logout), with a button to reload the table.
 * It never reloads by itself: that would take the keyboard focus away mid-task. A change the
 * table already shows is no news: the page's own action (refresh, connect, disconnect) reaches
 * the store's change feed too, and on SQLite the feed may report it after the page reloaded.
 */
export const LIVE_SCRIPT = `
(() => {
  const live = document.getElementById('live');
  if (!live || !window.EventSource) return;
  const text = live.querySelector('[data-live-text]');
  const seen = new Set();
  live.querySelector('[data-live-reload]').addEventListener('click', () => location.reload());
  const source = new EventSource('/ui/api/events');
  source.addEventListener('ready', () => { live.dataset.ready = '1'; });
  const instant = (iso) => (iso ? Date.parse(iso) : null);
  const shown = (change) => {
    const row = [...document.querySelectorAll('tr[data-row]')].find((r) => r.dataset.row === change.provider + '/' + change.connection);
    if (change.kind === 'removed') return !row;
    const countdown = row && row.querySelector('[data-countdown]');
    return Boolean(row) && row.dataset.state === change.status && instant(countdown && countdown.dataset.countdown) === instant(change.expires_at);
  };
  source.addEventListener('change', (event) => {
    const change = JSON.parse(event.data);
    if (shown(change)) return;
    seen.add(change.provider + ' (' + change.connection + ')' + (change.kind === 'removed' ? ' removed' : ': ' + change.status));
    text.textContent = 'Changed elsewhere since this page loaded: ' + [...seen].join(', ') + '.';
    live.hidden = false;
  });
})();
`;
