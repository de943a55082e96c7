// The device authorization page (RFC 8628 §3.3): the user code to enter, where to enter it, a QR
// code for a phone, and the outcome once the daemon's polling ends.
import { escapeHtml, renderPage } from './layout.ts';
import { renderCopyButton, renderTime, safeUrl } from './parts.ts';

export interface DeviceView {
  title: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string | null;
  /** Trusted markup from qrSvg (util/qr.ts), inserted as is. */
  qrSvg: string;
  expiresAt: Date;
  nonce: string;
  status?: 'pending' | 'approved' | 'failed';
  message?: string | null;
  /** How often the page reloads while pending; it stops once approved or failed. */
  refreshSeconds?: number;
}

const DEFAULT_REFRESH_SECONDS = 5;
const WEB = ['https:', 'http:'] as const;

function renderPending(view: DeviceView): string {
  // RFC 8628 §3.3.1: the complete URI carries the code, so the user only has to confirm it.
  const complete = safeUrl(view.verificationUriComplete, WEB);
  const href = complete ?? safeUrl(view.verificationUri, WEB);
  const shown = escapeHtml(view.verificationUri);
  const where = href
    ? `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${shown}` +
      ' <span class="visually-hidden">(opens in a new tab)</span></a>'
    : `<code>${shown}</code>`;
  return [
    view.message ? `<p>${escapeHtml(view.message)}</p>` : '',
    `<p id="user-code-label">${complete ? 'Check that the provider shows this code:' : 'Enter this code:'}</p>`,
    '<div class="copy-row">',
    `<p id="user-code" class="user-code mono" aria-labelledby="user-code-label user-code">${escapeHtml(view.userCode)}</p>`,
    renderCopyButton(view.userCode, 'user-code', 'Copy code'),
    '</div>',
    `<p>${complete ? 'Open' : 'Enter it at'} ${where}</p>`,
    `<figure class="qr">${view.qrSvg}<figcaption>Or scan this with your phone.</figcaption></figure>`,
    `<p class="fine">The code expires at ${renderTime(view.expiresAt)}.</p>`,
    '<p class="fine" role="status">This page updates itself.</p>',
  ].join('\n');
}

function renderOutcome(view: DeviceView, approved: boolean): string {
  const fallback = approved
    ? 'You can close this tab; authsome is finishing in your terminal.'
    : 'The sign-in did not complete. Run the command again in your terminal.';
  return [
    approved
      ? '<p class="ok" role="status"><span aria-hidden="true">✓</span> Approved</p>'
      : '<p class="bad" role="alert"><span aria-hidden="true">✕</span> Not approved</p>',
    `<p>${escapeHtml(view.message || fallback)}</p>`,
  ].join('\n');
}

/** The device page; reloads itself every few seconds while the authorization is pending. */
export function renderDevicePage(view: DeviceView): string {
  const status = view.status ?? 'pending';
  const pending = status === 'pending';
  const body = [
    `<h1>${escapeHtml(view.title)}</h1>`,
    pending ? renderPending(view) : renderOutcome(view, status === 'approved'),
  ].join('\n');
  return renderPage({
    title: view.title,
    nonce: view.nonce,
    body,
    ...(pending ? { refreshSeconds: view.refreshSeconds ?? DEFAULT_REFRESH_SECONDS } : {}),
  });
}
