// The dashboard's frame around the shared page layout: navigation after a skip link, the live
// region that reports how the last action ended, the extra styles (tables that become cards on a
// narrow window, state badges, the chart) and the few lines of script (countdowns, the filter,
// confirmations). The CSP allows no inline attributes, so behaviour hangs on data- attributes.
import { escapeHtml, renderPage } from '../../pages/index.ts';
import type { Flash } from '../access.ts';

export type Section = 'connections' | 'log' | 'register';

const SECTIONS: Array<[Section, string, string]> = [
  ['connections', '/ui', 'Connections'],
  ['log', '/ui/log', 'Audit log'],
  ['register', '/ui/register', 'Register a provider'],
];

export interface ShellOptions {
  title: string;
  section: Section;
  nonce: string;
  body: string;
  flash: Flash | null;
  profile?: string;
  /** More script for this page (after the dashboard's own). */
  script?: string;
  refreshSeconds?: number;
}

export function renderShell(options: ShellOptions): string {
  const nav = [
    '<nav aria-label="Dashboard"><ul class="nav">',
    ...SECTIONS.map(([id, href, label]) => `<li><a href="${href}"${id === options.section ? ' aria-current="page"' : ''}>${label}</a></li>`),
    '</ul></nav>',
  ].join('');
  const flash = options.flash;
  const body = [
    `<h1>${escapeHtml(options.title)}</h1>`,
    options.profile ? `<p class="fine">Profile <strong>${escapeHtml(options.profile)}</strong>. Secrets are never shown here; credentials appear masked to a prefix at most.</p>` : '',
    // Always present, so assistive technology knows the region before it speaks; focused when it has news.
    `<div id="notice" class="notice${flash ? (flash.ok ? ' ok-notice' : ' bad-notice') : ''}" role="status" aria-live="polite" tabindex="-1"${flash ? ' data-focus' : ''}>${flash ? escapeHtml(flash.message) : ''}</div>`,
    options.body,
  ].filter(Boolean).join('\n');
  return renderPage({
    title: options.title, nonce: options.nonce, body, wide: { header: nav }, styles: STYLES, script: SCRIPT + (options.script ?? ''),
    ...(options.refreshSeconds ? { refreshSeconds: options.refreshSeconds } : {}),
  });
}

/** A POST form of one button carrying the CSRF token, e.g. Disconnect. */
export function actionForm(options: { action: string; csrf: string; label: string; fields: Record<string, string>; accessibleName?: string; confirm?: string; primary?: boolean }): string {
  const hidden = Object.entries({ csrf: options.csrf, ...options.fields })
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const confirm = options.confirm ? ` data-confirm="${escapeHtml(options.confirm)}"` : '';
  const name = options.accessibleName ? ` aria-label="${escapeHtml(options.accessibleName)}"` : '';
  return `<form method="post" action="${escapeHtml(options.action)}"${confirm}>${hidden}<button type="submit" class="small${options.primary ? ' primary' : ''}"${name}>${escapeHtml(options.label)}</button></form>`;
}

/** `<time>` in UTC from the server; the script rewrites it in the browser's local time. */
export function renderInstant(iso: string | null): string {
  if (!iso) return '<span class="muted">—</span>';
  return `<time datetime="${escapeHtml(iso)}" data-local>${escapeHtml(iso.slice(0, 16).replace('T', ' '))} UTC</time>`;
}

const STYLES = `
.page.wide{width:min(100% - 2rem,76rem)}
.skip-link{position:absolute;left:.5rem;top:-3rem;background:var(--card);color:var(--accent);padding:.5rem .75rem;border:2px solid var(--focus);border-radius:6px;z-index:1}
.skip-link:focus{top:.5rem}
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;gap:.5rem}
.nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0 0 .75rem;padding:0}
.nav a[aria-current="page"]{font-weight:700;text-decoration-thickness:2px}
main:focus{outline:none}
.muted{color:var(--muted)}
.notice:empty{display:none}
.notice{border:1px solid var(--border);border-radius:6px;padding:.75rem;margin:0 0 1rem}
.ok-notice{border-color:var(--ok)}
.bad-notice{border-color:var(--bad);background:var(--bad-bg)}
.summary{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0;margin:0 0 1rem}
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end;margin:0 0 1rem}
.filters .field{margin:0;flex:1 1 10rem}
select,textarea{font:inherit;font-size:1rem;width:100%;padding:.45rem .5rem;color:var(--text);background:var(--card);border:1px solid var(--muted);border-radius:6px}
textarea{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.875rem;min-height:16rem}
textarea[aria-invalid="true"]{border-color:var(--bad);border-width:2px}
input[type="checkbox"]{width:auto;margin-right:.4rem}
.check{display:flex;align-items:center;font-weight:400}
.table-wrap{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:.9375rem;margin:0 0 1rem}
caption{text-align:left;font-weight:600;padding:0 0 .5rem}
th,td{text-align:left;vertical-align:top;padding:.5rem;border-bottom:1px solid var(--border)}
thead th{font-size:.8125rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
.badge{display:inline-block;padding:0 .5rem;border:1px solid currentColor;border-radius:999px;font-size:.8125rem;font-weight:600;white-space:nowrap}
.state-connected{color:var(--ok)}
.state-expired{color:#9a6700}
.state-invalid{color:var(--bad)}
.state-available,.state-configured{color:var(--muted)}
@media (prefers-color-scheme:dark){.state-expired{color:#e3b341}}
.actions{display:flex;flex-wrap:wrap;gap:.375rem}
.actions form{margin:0}
button.small{padding:.25rem .625rem;font-size:.875rem}
.scopes{font-size:.8125rem}
.error-text{color:var(--bad);font-size:.875rem}
.chart svg{display:block;width:100%;height:auto;max-height:14rem}
.chart .ok-bar{fill:var(--ok)}
.chart .bad-bar{fill:var(--bad)}
.chart .axis{stroke:var(--border)}
.chart text{fill:var(--muted);font-size:11px}
.legend{display:flex;gap:1rem;font-size:.875rem;color:var(--muted);margin:.25rem 0 1rem}
.swatch{display:inline-block;width:.75rem;height:.75rem;border-radius:2px;margin-right:.35rem;vertical-align:-1px}
.swatch.ok-bar{background:var(--ok)}
.swatch.bad-bar{background:var(--bad)}
.usage td{border-bottom:1px solid var(--border);padding-top:0}
.usage summary{cursor:pointer;font-size:.875rem}
.usage-line{margin:.5rem 0}
.usage-line pre{margin:.15rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere;flex:1 1 auto}
tr[data-row]:has(+ tr.usage) > *{border-bottom:0}
.detail{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8125rem;overflow-wrap:anywhere}
@media (max-width:44rem){
.page.wide{width:100%;margin:0}
.nav{padding:0 1rem}
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards,table.cards tbody,table.cards tr,table.cards th,table.cards td{display:block;width:100%}
table.cards tr{border-bottom:2px solid var(--border);padding:.5rem 0}
table.cards th,table.cards td{border:0;padding:.2rem 0}
table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted)}
}
`;

const SCRIPT = `
(() => {
  const two = (n) => String(n).padStart(2, '0');
  const left = (ms) => {
    const s = Math.floor(ms / 1000);
    if (s >= 86400) return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
    if (s >= 3600) return Math.floor(s / 3600) + ' h ' + two(Math.floor((s % 3600) / 60)) + ' min';
    return Math.floor(s / 60) + ':' + two(s % 60);
  };
  const tick = () => {
    for (const el of document.querySelectorAll('[data-countdown]')) {
      const ms = Date.parse(el.dataset.countdown) - Date.now();
      el.textContent = ms > 0 ? 'in ' + left(ms) : 'expired';
    }
  };
  tick();
  setInterval(tick, 1000);
  for (const el of document.querySelectorAll('time[data-local]')) {
    const date = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(date.getTime())) el.textContent = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (event) => { if (!window.confirm(form.dataset.confirm)) event.preventDefault(); });
  }
  const q = document.getElementById('filter-q');
  const state = document.getElementById('filter-state');
  const count = document.getElementById('filter-count');
  const rows = [...document.querySelectorAll('#catalogue tr[data-state]')];
  const apply = () => {
    const text = q.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const visible = (!state.value || row.dataset.state === state.value) && (!text || row.dataset.search.includes(text));
      row.hidden = !visible;
      if (visible) shown++;
    }
    count.textContent = shown + ' of ' + rows.length + ' shown';
  };
  if (q && state && count) {
    q.addEventListener('input', apply);
    state.addEventListener('change', apply);
  }
  const notice = document.querySelector('#notice[data-focus]');
  if (notice) notice.focus();
})();
`;
