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
  nonce: string;
}

export function renderResult(view: ResultView): string {
  const mark = view.ok ? '<span class="ok" aria-hidden="true">✓</span>' : '<span class="bad" aria-hidden="true">✕</span>';
  const body = [
    `<h1>${mark} ${escapeHtml(view.title)}</h1>`,
    `<p>${escapeHtml(view.message)}</p>`,
    view.detail ? `<pre class="code-block"><code>${escapeHtml(view.detail)}</code></pre>` : '',
    view.next ? `<p>${escapeHtml(view.next)}</p>` : '',
  ];
  return renderPage({ title: view.title, nonce: view.nonce, body: body.filter(Boolean).join('\n') });
}
