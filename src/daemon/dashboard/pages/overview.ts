// The Connections page: first "Your connections" — each with its state, account, scopes, expiry
// countdown (OAuth only), last refresh, default, and the lines to copy to use it — then the
// catalogue to add one from, behind a search and state filter; a profile switcher (GET, viewing
// only); and the actions — connect, disconnect, make default, refresh — each a small POST form
// carrying the CSRF token.
import { escapeHtml, renderCopyButton } from '../../pages/index.ts';
import { STATES, matchesFilter, rows, searchText, type ConnectionView, type DashboardView, type ProviderView, type Row, type ViewFilter } from '../view-model.ts';
import { actionForm, renderInstant } from './shell.ts';

export interface OverviewOptions {
  view: DashboardView;
  filter: ViewFilter;
  csrf: string;
}

export function renderOverview({ view, filter, csrf }: OverviewOptions): string {
  const readOnly = view.profile !== view.activeProfile;
  const mine = rows(view.providers).filter((row): row is Row & { connection: ConnectionView } => row.connection !== null);
  const catalogue = view.providers.map((provider): Row => ({ provider, connection: null, state: provider.state }));
  const shownCount = catalogue.filter((row) => matchesFilter(row, filter)).length;
  return [
    renderProfileSwitcher(view),
    readOnly
      ? `<p class="notice" role="note">Profile <strong>${escapeHtml(view.profile)}</strong> is shown read-only: this daemon acts on profile <strong>${escapeHtml(view.activeProfile)}</strong>. ` +
        `Change this profile's connections in a terminal with <code>--profile ${escapeHtml(view.profile)}</code>, or <a href="/ui">go back to ${escapeHtml(view.activeProfile)}</a>.</p>`
      : '',
    `<ul class="summary" aria-label="Connections by state">${STATES.map((s) => `<li><span class="badge state-${s}">${view.counts[s]} ${s}</span></li>`).join('')}</ul>`,
    view.problems.length ? `<div class="alert" role="alert"><p>Some records or provider files could not be read:</p><ul>${view.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul></div>` : '',
    '<section aria-labelledby="connections-heading">',
    '<h2 id="connections-heading">Your connections</h2>',
    // Filled by LIVE_SCRIPT when the daemon reports a change made elsewhere.
    '<div id="live" class="notice" role="status" aria-live="polite" hidden><span data-live-text></span> <button type="button" data-live-reload>Reload</button></div>',
    mine.length ? renderMine(mine, csrf, readOnly) : '<p class="muted">No connections in this profile yet. Connect one from the catalogue below.</p>',
    '</section>',
    '<section aria-labelledby="catalogue-heading">',
    '<h2 id="catalogue-heading">Add a connection</h2>',
    readOnly ? '' : renderConnectForm(view, csrf),
    renderFilter(filter, view),
    `<p id="filter-count" class="fine" role="status">${shownCount} of ${catalogue.length} shown</p>`,
    '<div class="table-wrap">',
    '<table id="catalogue" class="cards" aria-labelledby="catalogue-heading">',
    '<thead><tr><th scope="col">Provider</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>',
    '<tbody>',
    ...catalogue.map((row) => renderCatalogueRow(row.provider, csrf, readOnly, !matchesFilter(row, filter))),
    '</tbody></table></div>',
    '</section>',
  ].filter(Boolean).join('\n');
}

/** Which profile the page shows: a GET form, so switching only views (nothing changes, no CSRF token needed). */
function renderProfileSwitcher(view: DashboardView): string {
  if (view.profiles.length < 2) return '';
  const options = view.profiles.map((name) => `<option value="${escapeHtml(name)}"${name === view.profile ? ' selected' : ''}>${escapeHtml(name)}${name === view.activeProfile ? ' (this daemon\'s)' : ''}</option>`).join('');
  return [
    '<form class="filters" method="get" action="/ui" aria-label="Switch profile">',
    `<div class="field"><label for="profile-switch">Profile</label><select id="profile-switch" name="profile">${options}</select></div>`,
    '<div class="field"><button type="submit">Show</button></div>',
    '</form>',
  ].join('');
}

function renderMine(mine: Array<Row & { connection: ConnectionView }>, csrf: string, readOnly: boolean): string {
  return [
    '<div class="table-wrap">',
    '<table id="mine" class="cards" aria-labelledby="connections-heading">',
    '<thead><tr><th scope="col">Provider</th><th scope="col">Connection</th><th scope="col">State</th><th scope="col">Account</th>' +
      '<th scope="col">Scopes</th><th scope="col">Expires</th><th scope="col">Last refresh</th><th scope="col">Actions</th></tr></thead>',
    '<tbody>',
    ...mine.map((row) => renderRow(row.provider, row.connection, row.state, csrf, readOnly)),
    '</tbody></table></div>',
  ].join('\n');
}

function renderFilter(filter: ViewFilter, view: DashboardView): string {
  const options = ['', ...STATES].map((s) => `<option value="${s}"${(filter.state ?? '') === s ? ' selected' : ''}>${s || 'Any state'}</option>`).join('');
  return [
    '<form class="filters" method="get" action="/ui" role="search" aria-label="Filter the catalogue">',
    view.profile !== view.activeProfile ? `<input type="hidden" name="profile" value="${escapeHtml(view.profile)}">` : '',
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
    '<form class="filters" method="post" action="/ui/actions/connect" aria-label="Connect a provider">',
    `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`,
    `<div class="field"><label for="connect-provider">Provider</label><select id="connect-provider" name="provider" required>${options}</select></div>`,
    '<div class="field"><label for="connect-connection">Connection name</label><input id="connect-connection" name="connection" value="default" required pattern="[A-Za-z0-9._\\-]+" autocomplete="off"></div>',
    '<div class="field"><label class="check" for="connect-force"><input id="connect-force" name="force" type="checkbox" value="1">Replace an existing connection</label></div>',
    '<div class="field"><button type="submit" class="primary">Connect</button></div>',
    '</form>',
    '<p class="fine">OAuth providers open their sign-in page; API-key providers open a local form. Nothing you type leaves this computer except to the provider. Or pick one in the catalogue:</p>',
  ].join('\n');
}

function providerCell(provider: ProviderView): string {
  const custom = provider.source === 'custom' ? ' <span class="fine">(custom)</span>' : provider.source === 'unknown' ? ' <span class="fine">(no definition)</span>' : '';
  return `<th scope="row">${escapeHtml(provider.display_name)}${custom}<br><code class="fine">${escapeHtml(provider.name)}</code></th>`;
}

function renderCatalogueRow(provider: ProviderView, csrf: string, readOnly: boolean, hidden: boolean): string {
  const search = escapeHtml(searchText({ provider, connection: null }));
  const count = provider.connections.length;
  const actions = count
    ? `<span class="fine">${count} connection${count === 1 ? '' : 's'} above</span>`
    : readOnly ? '<span class="muted">—</span>' : renderActions(provider, null, csrf);
  const cells = [
    providerCell(provider),
    `<td data-label="Kind">${provider.auth_type === 'api_key' ? 'API key' : provider.auth_type === 'oauth2' ? 'OAuth' : escapeHtml(provider.auth_type)}</td>`,
    `<td data-label="State"><span class="badge state-${escapeHtml(provider.state)}">${escapeHtml(provider.state)}</span></td>`,
    `<td data-label="Actions"><div class="actions">${actions}</div></td>`,
  ];
  return `<tr data-state="${escapeHtml(provider.state)}" data-search="${search}" data-row="${escapeHtml(provider.name)}/"${hidden ? ' hidden' : ''}>${cells.join('')}</tr>`;
}

function renderRow(provider: ProviderView, connection: ConnectionView, state: string, csrf: string, readOnly: boolean): string {
  const key = `${provider.name}/${connection.connection}`;
  const cells = [
    providerCell(provider),
    `<td data-label="Connection">${escapeHtml(connection.connection)}${connection.default ? ' <span class="badge">default</span>' : ''}${connection.credential ? `<br><code class="fine" aria-label="credential, masked">${escapeHtml(connection.credential)}</code>` : ''}</td>`,
    `<td data-label="State"><span class="badge state-${escapeHtml(state)}">${escapeHtml(state)}</span></td>`,
    `<td data-label="Account">${connection.account ? escapeHtml(connection.account) : '<span class="muted">—</span>'}</td>`,
    `<td data-label="Scopes" class="scopes">${connection.scopes.length ? connection.scopes.map(escapeHtml).join(' ') : '<span class="muted">—</span>'}</td>`,
    // An API key has no expiry and is never refreshed: no such fields, rather than empty ones.
    connection.auth_type === 'api_key'
      ? '<td colspan="2" class="na"><span class="fine">API key</span></td>'
      : `<td data-label="Expires">${renderExpiry(connection)}</td><td data-label="Last refresh">${renderLastRefresh(connection)}</td>`,
    `<td data-label="Actions"><div class="actions">${readOnly ? '<span class="muted">—</span>' : renderActions(provider, connection, csrf)}</div></td>`,
  ];
  return `<tr data-state="${escapeHtml(state)}" data-row="${escapeHtml(key)}">${cells.join('')}</tr>\n` + renderUsage(key, connection);
}

/** The lines to copy, under the connection's row: names, never values (usage.ts). */
function renderUsage(key: string, connection: ConnectionView): string {
  if (!connection.usage.length) return '';
  const id = `use-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const lines = connection.usage.map((line, i) => [
    '<div class="usage-line">',
    `<span class="fine">${escapeHtml(line.label)}</span>`,
    '<div class="copy-row">',
    `<pre class="code-block" id="${id}-${i}"><code>${escapeHtml(line.text)}</code></pre>`,
    renderCopyButton(line.text, `${id}-${i}`, `Copy: ${line.label}`),
    '</div></div>',
  ].join(''));
  return `<tr class="usage" data-usage-for="${escapeHtml(key)}"><td colspan="8"><details><summary>How to use ${escapeHtml(key.replace('/', ' ('))})</summary>${lines.join('')}</details></td></tr>`;
}

function renderExpiry(connection: ConnectionView): string {
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
