// The page a browser lands on when a flow ends (the OAuth callback, a saved form): what
// happened and what happens next.
import { escapeHtml, renderPage } from './layout.ts';

export interface ResultView {
  ok: boolean;
  title: string;
  message: string;
  /** What happens next, e.g. "You can close this tab; authsome is finishing in your terminal." */
  next?: string | null;
  /** Shown verbatim in a code block, e.g. `Error: OAuth state parameter does not match`. */
  detail?: string | null;
  /** A link onwards, to a path on this daemon only (e.g. back to the dashboard). */
  link?: { href: string; label: string } | null;
  nonce: string;
}

export function renderResult(view: ResultView): string {
  const mark = view.ok ? '<span class="ok" aria-hidden="true">✓</span>' : '<span class="bad" aria-hidden="true">✕</span>';
  const body = [
    `<h1>${mark} ${escapeHtml(view.title)}</h1>`,
    `<p>${escapeHtml(view.message)}</p>`,
    view.detail ? `<pre class="code-block"><code>${escapeHtml(view.detail)}</code></pre>` : '',
    view.next ? `<p>${escapeHtml(view.next)}</p>` : '',
    // Same-origin paths only: a spec field must never become a link to somewhere else.
    view.link && /^\/(?![/\\])/.test(view.link.href) ? `<p><a href="${escapeHtml(view.link.href)}">${escapeHtml(view.link.label)}</a></p>` : '',
  ];
  return renderPage({ title: view.title, nonce: view.nonce, body: body.filter(Boolean).join('\n') });
}
