// The shell every daemon page shares: one escaping function, the stylesheet, the copy script.
// The daemon's CSP allows only nonce'd <style>/<script> and no inline attributes, so all styling
// lives in the stylesheet below and all behaviour in the script, wired by data- attributes.

export interface PageOptions {
  title: string;
  /** The CSP nonce for this response; every <style> and <script> carries it. */
  nonce: string;
  /** Trusted HTML for inside <main>; every value in it already passed through escapeHtml. */
  body: string;
  /** Reloads the page every N seconds (the device page while it waits for approval). */
  refreshSeconds?: number;
  /** Wider pages (the dashboard's tables) with a header: a skip link, then this trusted HTML (navigation). */
  wide?: { header: string };
  /** More CSS and script for this page, inside the same nonce'd elements. */
  styles?: string;
  script?: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The one escape for text and attribute values (attributes are always double-quoted). */
export function escapeHtml(value: string): string {
  return String(value).replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const STYLES = `
:root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#1b1f24;--muted:#57606a;--border:#c9d1d9;
--accent:#0a58b8;--on-accent:#fff;--focus:#0a58b8;--ok:#1a7f37;--bad:#b42318;--bad-bg:#fdf0ee;--code-bg:#eef1f4}
@media (prefers-color-scheme:dark){:root{--bg:#0e1014;--card:#171a20;--text:#e6e8eb;--muted:#a0a9b3;
--border:#343b44;--accent:#79b8ff;--on-accent:#0b1320;--focus:#79b8ff;--ok:#56d364;--bad:#ff8a80;
--bad-bg:#3a1f1f;--code-bg:#0e1014}}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--text);
font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{width:min(100% - 2rem,36rem);margin:2rem auto}
.wordmark{margin:0 0 .75rem;font-size:.875rem;font-weight:600;letter-spacing:.03em;color:var(--muted)}
main{background:var(--card);border:1px solid var(--border);border-radius:12px;padding:1.5rem}
h1{font-size:1.375rem;line-height:1.3;margin:0 0 .75rem}
h2{font-size:1rem;margin:1.5rem 0 .5rem}
p{margin:0 0 .75rem}
form{margin:0 0 1rem}
main>:last-child{margin-bottom:0}
a{color:var(--accent);text-underline-offset:.15em}
code,pre,input,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
code{overflow-wrap:anywhere}
pre{margin:0 0 .75rem;white-space:pre-wrap}
.code-block{display:block;background:var(--code-bg);border:1px solid var(--border);border-radius:6px;
padding:.5rem .75rem;font-size:.9375rem}
.field{margin:0 0 1rem}
label{display:block;font-weight:600;margin:0 0 .25rem}
.optional{font-weight:400;color:var(--muted)}
input{width:100%;font-size:1rem;padding:.5rem .625rem;color:var(--text);background:var(--card);
border:1px solid var(--muted);border-radius:6px}
input[aria-invalid="true"]{border-color:var(--bad);border-width:2px}
.hint,.fine{color:var(--muted);font-size:.875rem}
.hint,.field-error{margin:.25rem 0 0}
.field-error{color:var(--bad);font-size:.875rem;font-weight:600}
.alert{border:1px solid var(--bad);background:var(--bad-bg);border-radius:6px;padding:.75rem;margin:0 0 1rem}
button{font:inherit;cursor:pointer;border-radius:6px;padding:.5rem 1rem;border:1px solid var(--border);
background:var(--code-bg);color:var(--text)}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--on-accent);font-weight:600}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.copy-row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:0 0 .75rem}
.copy-row>.code-block,.copy-row>.user-code{flex:1 1 12rem;margin:0}
.user-code{font-size:clamp(1.75rem,9vw,2.5rem);font-weight:700;letter-spacing:.12em;line-height:1.2}
.qr{margin:1rem 0}
.qr svg{display:block;width:100%;max-width:14rem;height:auto}
.qr figcaption{color:var(--muted);font-size:.875rem;margin-top:.25rem}
.ok{color:var(--ok)}
.bad{color:var(--bad)}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;
clip:rect(0 0 0 0);white-space:nowrap;border:0}
@media (max-width:30rem){.page{width:100%;margin:0}main{border-radius:0;border-inline:0;padding:1.25rem 1rem}
.wordmark{padding:.75rem 1rem 0}}
`;

// Copy buttons start hidden so nothing dead shows when scripts do not run; clipboard access on
// http://127.0.0.1 works (loopback is a secure context), the selection fallback covers the rest.
const SCRIPT = `
(() => {
  const status = document.getElementById('copy-status');
  const announce = (text) => {
    status.textContent = '';
    setTimeout(() => { status.textContent = text; }, 50);
  };
  const selectTarget = (id) => {
    const target = id ? document.getElementById(id) : null;
    if (!target) return false;
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return true;
  };
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        announce('Copied');
      } catch {
        if (!selectTarget(button.dataset.copyTarget)) return announce('Copy failed. Select the text and copy it.');
        let copied = false;
        try { copied = document.execCommand('copy'); } catch {}
        announce(copied ? 'Copied' : 'Selected. Press Ctrl+C (Command+C on a Mac) to copy.');
      }
    });
  }
})();
`;

/** A full HTML5 document around `body`: wordmark, card, shared stylesheet and copy script. */
export function renderPage(options: PageOptions): string {
  const nonce = escapeHtml(options.nonce);
  const refresh =
    options.refreshSeconds !== undefined && Number.isFinite(options.refreshSeconds) && options.refreshSeconds > 0
      ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(options.refreshSeconds))}">\n`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
${refresh}<title>${escapeHtml(options.title)} · authsome</title>
<style nonce="${nonce}">${STYLES}${options.styles ?? ''}</style>
</head>
<body>
${options.wide ? '<a class="skip-link" href="#main">Skip to content</a>\n' : ''}<div class="page${options.wide ? ' wide' : ''}">
<header><p class="wordmark">authsome</p>${options.wide?.header ?? ''}</header>
<main id="main" tabindex="-1">
${options.body}
</main>
<p id="copy-status" class="visually-hidden" role="status" aria-live="polite"></p>
</div>
<script nonce="${nonce}">${SCRIPT}${options.script ?? ''}</script>
</body>
</html>
`;
}
