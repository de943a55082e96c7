// The page where a user types an API key or OAuth client credentials into the local daemon.
import { escapeHtml, renderPage } from './layout.ts';
import { renderCopyButton, renderTime, safeUrl } from './parts.ts';
import { toHtmlPattern } from './pattern.ts';
import type { InputField as BrokerInputField } from '../../broker/index.ts';

/**
 * A field as the broker describes it; its `pattern` is kept as an HTML `pattern` only when
 * browsers compile it, and `value` prefills non-secret fields only.
 */
export interface InputField extends BrokerInputField {
  /** An HTML autocomplete token for non-secret fields; secrets always get "off". */
  autocomplete?: string;
}

export interface InputFormView {
  /** e.g. "Connect OpenAI". */
  title: string;
  intro: string;
  /** The form's POST path, relative to this page. */
  action: string;
  csrf: string;
  nonce: string;
  fields: InputField[];
  redirectUri?: string | null;
  docsUrl?: string | null;
  error?: string | null;
  fieldErrors?: Record<string, string>;
  expiresAt: Date;
  /** A way back without saving (the dashboard, when it opened this form): a path on the daemon. */
  back?: { href: string; label: string } | null;
}

/** A path on this daemon: no scheme and no `//host`, so the form can only post back here. */
function checkAction(action: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(action) || /^[/\\]{2}/.test(action)) {
    throw new TypeError(`Input form action must be a relative path on the daemon, got ${JSON.stringify(action)}`);
  }
  return action;
}

function fieldError(view: InputFormView, name: string): string | null {
  // Own properties only: a field named "constructor" must not find Object.prototype's.
  const errors = view.fieldErrors ?? {};
  const message = Object.hasOwn(errors, name) ? errors[name] : undefined;
  return typeof message === 'string' && message !== '' ? message : null;
}

function renderField(view: InputFormView, field: InputField, index: number, autofocus: boolean): string {
  const id = `field-${index}`;
  const error = fieldError(view, field.name);
  const describedBy = [field.hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  const pattern = toHtmlPattern(field.pattern);
  const attributes = [
    `id="${id}"`,
    `name="${escapeHtml(field.name)}"`,
    // A secret is never echoed back into the page, whatever the caller passes.
    field.secret ? 'type="password" autocomplete="off"' : 'type="text"',
    !field.secret && field.autocomplete ? `autocomplete="${escapeHtml(field.autocomplete)}"` : null,
    'spellcheck="false" autocapitalize="off"',
    !field.secret && field.value != null ? `value="${escapeHtml(field.value)}"` : null,
    field.required ? 'required' : null,
    pattern ? `pattern="${escapeHtml(pattern)}"` : null,
    describedBy ? `aria-describedby="${describedBy}"` : null,
    error ? 'aria-invalid="true"' : null,
    autofocus ? 'autofocus' : null,
  ].filter(Boolean);
  const optional = field.required ? '' : ' <span class="optional">(optional)</span>';
  return [
    '<div class="field">',
    `<label for="${id}">${escapeHtml(field.label)}${optional}</label>`,
    `<input ${attributes.join(' ')}>`,
    field.hint ? `<p id="${id}-hint" class="hint">${escapeHtml(field.hint)}</p>` : '',
    error ? `<p id="${id}-error" class="field-error">${escapeHtml(error)}</p>` : '',
    '</div>',
  ].filter(Boolean).join('\n');
}

function renderRedirectUri(redirectUri: string): string {
  return [
    '<section aria-labelledby="redirect-heading">',
    '<h2 id="redirect-heading">Register this redirect URI at the provider</h2>',
    '<div class="copy-row">',
    `<code id="redirect-uri" class="code-block">${escapeHtml(redirectUri)}</code>`,
    renderCopyButton(redirectUri, 'redirect-uri', 'Copy redirect URI'),
    '</div>',
    '</section>',
  ].join('\n');
}

/** The form page; posts `csrf` plus one value per field to `action`. */
export function renderInputForm(view: InputFormView): string {
  const firstInvalid = view.fields.findIndex((field) => fieldError(view, field.name) !== null);
  const focusIndex = firstInvalid >= 0 ? firstInvalid : 0;
  const docsUrl = safeUrl(view.docsUrl, ['https:']);
  const body = [
    `<h1>${escapeHtml(view.title)}</h1>`,
    `<p>${escapeHtml(view.intro)}</p>`,
    view.error ? `<div class="alert" role="alert">${escapeHtml(view.error)}</div>` : '',
    view.redirectUri ? renderRedirectUri(view.redirectUri) : '',
    docsUrl
      ? `<p><a href="${escapeHtml(docsUrl)}" target="_blank" rel="noopener noreferrer">Where to find these values` +
        ` <span class="visually-hidden">(opens in a new tab)</span></a></p>`
      : '',
    `<form method="post" action="${escapeHtml(checkAction(view.action))}">`,
    `<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">`,
    ...view.fields.map((field, index) => renderField(view, field, index, index === focusIndex)),
    '<button type="submit" class="primary">Save</button>',
    '</form>',
    view.back && /^\/(?![/\\])/.test(view.back.href) ? `<p><a href="${escapeHtml(view.back.href)}">${escapeHtml(view.back.label)}</a></p>` : '',
    `<p class="fine">This link expires at ${renderTime(view.expiresAt)}. What you enter is sent only to` +
      ' authsome on this computer.</p>',
  ];
  return renderPage({ title: view.title, nonce: view.nonce, body: body.filter(Boolean).join('\n') });
}
