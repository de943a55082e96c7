// Small fragments more than one page uses: copy buttons, expiry times, links that may be followed.
import { escapeHtml } from './layout.ts';

/** A Copy button for `value`; the layout's script copies it, or selects the element `targetId`. */
export function renderCopyButton(value: string, targetId: string, label: string): string {
  return (
    `<button type="button" data-copy="${escapeHtml(value)}" data-copy-target="${escapeHtml(targetId)}"` +
    ` aria-label="${escapeHtml(label)}" hidden>Copy</button>`
  );
}

/** `<time>` with the machine-readable instant and the local clock time (the daemon runs locally). */
export function renderTime(date: Date): string {
  if (Number.isNaN(date.getTime())) return 'soon';
  const local = date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  return `<time datetime="${escapeHtml(date.toISOString())}">${escapeHtml(local)}</time>`;
}

/**
 * `url` normalised when it is absolute and uses one of `protocols`, else null. Provider metadata
 * and device responses come from the network, so a `javascript:` or `data:` URL must never
 * become an href.
 */
export function safeUrl(url: string | null | undefined, protocols: readonly string[]): string | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  return protocols.includes(parsed.protocol) ? parsed.href : null;
}
