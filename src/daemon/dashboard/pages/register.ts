// The Register page: paste a provider definition (JSON or JSONC); the daemon validates it with the
// same schema as `authsome register` and shows each problem next to the field. And the page that
// sends the browser on to a provider's sign-in page during "Connect".
import { escapeHtml } from '../../pages/index.ts';

/** Every form page has a way back to the overview, besides the navigation. */
export const BACK = '<p><a href="/ui">Back to your connections</a></p>';

export interface RegisterForm {
  csrf: string;
  text: string;
  /** Problems with the definition, one per bad field or parse error. */
  problems: string[];
  hint?: string | null;
}

const EXAMPLE = `{
  "name": "example",
  "display_name": "Example API",
  "auth_type": "api_key",
  "flow": "api_key",
  "host_url": "api.example.com",
  "api_key": { "header_name": "Authorization", "header_prefix": "Bearer" },
  "export": { "env": { "api_key": "EXAMPLE_API_KEY" } }
}`;

export function renderRegister(form: RegisterForm): string {
  const invalid = form.problems.length > 0;
  const describedBy = ['definition-hint', invalid ? 'definition-error' : ''].filter(Boolean).join(' ');
  return [
    '<p>A custom definition is saved in the home\'s <code>providers/</code> folder, exactly as <code>authsome register &lt;file&gt;</code> would.</p>',
    '<form method="post" action="/ui/actions/register" novalidate>',
    `<input type="hidden" name="csrf" value="${escapeHtml(form.csrf)}">`,
    '<div class="field">',
    '<label for="definition">Provider definition (JSON)</label>',
    `<textarea id="definition" name="definition" spellcheck="false" autocomplete="off" required aria-describedby="${describedBy}"${invalid ? ' aria-invalid="true" autofocus' : ''}>${escapeHtml(form.text)}</textarea>`,
    invalid
      ? `<div id="definition-error" class="field-error"><p>This definition was not registered:</p><ul>${form.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>${form.hint ? `<p>${escapeHtml(form.hint)}</p>` : ''}</div>`
      : '',
    `<p id="definition-hint" class="hint">For example:</p><pre class="code-block fine">${escapeHtml(EXAMPLE)}</pre>`,
    '</div>',
    '<p class="fine">New providers only. To replace a registered definition or override a bundled one, use <code>authsome register &lt;file&gt; --force</code> in a terminal.</p>',
    '<button type="submit" class="primary">Register</button>',
    '</form>',
    BACK,
  ].join('\n');
}

/** The step where the browser leaves for the provider: a link, followed at once by the script. */
export function renderContinue(provider: string, url: string): string {
  return [
    `<p>authsome started the login. Continue to ${escapeHtml(provider)}'s sign-in page; it sends you back here when you are done.</p>`,
    `<p><a id="continue-link" data-go href="${escapeHtml(url)}">Continue to ${escapeHtml(provider)}</a></p>`,
    BACK,
  ].join('\n');
}

/** A few lines for the continue page: the navigation a form post may not make itself (CSP form-action). */
export const CONTINUE_SCRIPT = `
(() => { const link = document.querySelector('a[data-go]'); if (link) window.location.replace(link.href); })();
`;
