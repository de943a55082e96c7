// The Audit log page: filters (provider, event, outcome, time range), the refresh chart, the
// `run` proxy's requests per host, and the matching entries, newest first.
import { escapeHtml } from '../../pages/index.ts';
import type { AuditView } from '../audit-view.ts';
import { renderRefreshChart } from './chart.ts';
import { renderInstant } from './shell.ts';

/** The filter as typed into the form (echoed back as is). */
export interface AuditFormValues {
  provider: string;
  event: string;
  outcome: string;
  range: string;
  from: string;
  to: string;
}

export const RANGES: Array<[string, string]> = [['', 'All time'], ['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];

export function renderAuditPage(view: AuditView, form: AuditFormValues): string {
  return [
    renderFilters(view, form),
    '<h2 id="chart-heading">Refreshes over time</h2>',
    renderRefreshChart(view.chart),
    '<h2 id="proxy-heading">Proxy requests per host</h2>',
    view.proxy.length ? renderProxy(view) : '<p class="muted">No <code>authsome run</code> in this range.</p>',
    '<h2 id="entries-heading">Entries</h2>',
    `<p class="fine">${view.matched} matching entr${view.matched === 1 ? 'y' : 'ies'}${view.matched > view.rows.length ? `; the newest ${view.rows.length} are shown` : ''}.</p>`,
    view.rows.length ? renderEntries(view) : '<p class="muted">No entries match.</p>',
  ].join('\n');
}

function select(id: string, name: string, label: string, current: string, options: Array<[string, string]>): string {
  const html = options.map(([value, text]) => `<option value="${escapeHtml(value)}"${value === current ? ' selected' : ''}>${escapeHtml(text)}</option>`).join('');
  return `<div class="field"><label for="${id}">${label}</label><select id="${id}" name="${name}">${html}</select></div>`;
}

function renderFilters(view: AuditView, form: AuditFormValues): string {
  return [
    '<form class="filters" method="get" action="/ui/log" role="search" aria-label="Filter the audit log">',
    select('log-provider', 'provider', 'Provider', form.provider, [['', 'Any provider'], ...view.providers.map((p): [string, string] => [p, p])]),
    select('log-event', 'event', 'Event', form.event, [['', 'Any event'], ...view.events.map((e): [string, string] => [e, e])]),
    select('log-outcome', 'outcome', 'Outcome', form.outcome, [['', 'Any outcome'], ['success', 'Success'], ['failure', 'Failure']]),
    select('log-range', 'range', 'Time range', form.range, RANGES),
    `<div class="field"><label for="log-from">From <span class="optional">(local time)</span></label><input id="log-from" name="from" type="datetime-local" value="${escapeHtml(form.from)}"></div>`,
    `<div class="field"><label for="log-to">To <span class="optional">(local time)</span></label><input id="log-to" name="to" type="datetime-local" value="${escapeHtml(form.to)}"></div>`,
    '<div class="field"><button type="submit">Apply</button></div>',
    '</form>',
  ].join('\n');
}

function renderProxy(view: AuditView): string {
  return [
    '<div class="table-wrap"><table class="cards" aria-labelledby="proxy-heading">',
    '<thead><tr><th scope="col">Host</th><th scope="col">Requests</th><th scope="col">Runs</th><th scope="col">Credential added</th></tr></thead><tbody>',
    ...view.proxy.map((p) => `<tr><th scope="row"><code>${escapeHtml(p.host)}</code></th><td data-label="Requests">${p.requests}</td><td data-label="Runs">${p.runs}</td><td data-label="Credential added">${p.intercepted ? 'yes' : 'no (tunnelled)'}</td></tr>`),
    '</tbody></table></div>',
  ].join('\n');
}

function renderEntries(view: AuditView): string {
  return [
    '<div class="table-wrap"><table class="cards" aria-labelledby="entries-heading">',
    '<thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Provider</th><th scope="col">Connection</th><th scope="col">Outcome</th><th scope="col">Details</th></tr></thead><tbody>',
    ...view.rows.map((row) => [
      `<tr data-event="${escapeHtml(row.event)}">`,
      `<th scope="row">${renderInstant(row.timestamp)}</th>`,
      `<td data-label="Event">${escapeHtml(row.event)}</td>`,
      `<td data-label="Provider">${row.provider ? escapeHtml(row.provider) : '<span class="muted">—</span>'}</td>`,
      `<td data-label="Connection">${row.connection ? escapeHtml(row.connection) : '<span class="muted">—</span>'}</td>`,
      `<td data-label="Outcome">${row.outcome ? `<span class="badge ${row.outcome === 'success' ? 'state-connected' : 'state-invalid'}">${row.outcome}</span>` : '<span class="muted">—</span>'}</td>`,
      `<td data-label="Details" class="detail">${escapeHtml(row.detail)}</td>`,
      '</tr>',
    ].join('')),
    '</tbody></table></div>',
  ].join('\n');
}
