// URL templates in provider definitions: "{base_url}/oauth/token" takes the connection's or
// client's base_url, else the definition's default (e.g. self-hosted GitLab); "{tenant}" takes the
// connection's directory, else oauth.tenant (Microsoft's /common, /organizations or one tenant).

/** The values an OAuth URL template may name. */
export interface UrlValues {
  base_url?: string | null;
  tenant?: string | null;
}

/** The placeholders OAuth URLs may use. */
export type UrlPlaceholder = keyof UrlValues;

/**
 * A tenant as Microsoft's identity platform names one in its paths: `common`, `organizations`,
 * `consumers`, a tenant ID (a GUID) or a verified domain name
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow). One path
 * segment of letters, digits, "." and "-": never a "/", "?" or "%" that could move the request elsewhere.
 */
export const TENANT_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,254}[A-Za-z0-9])?$/;

export function expandUrl(template: string | null | undefined, values: UrlValues): string | null {
  if (!template) return null;
  if (missingPlaceholder(template, values)) return null;
  let url = template;
  if (values.base_url) url = url.replaceAll('{base_url}', values.base_url.replace(/\/+$/, ''));
  if (values.tenant) url = url.replaceAll('{tenant}', values.tenant);
  return url;
}

/** The first placeholder of `template` that `values` leaves empty, or null. */
export function missingPlaceholder(template: string, values: UrlValues): UrlPlaceholder | null {
  if (template.includes('{base_url}') && !values.base_url) return 'base_url';
  if (template.includes('{tenant}') && !values.tenant) return 'tenant';
  return null;
}

/** The host a credential belongs to: host_url may be a bare host or a URL. */
export function hostOf(hostUrl: string | null | undefined): string | null {
  if (!hostUrl) return null;
  try {
    return hostUrl.includes('://') ? new URL(hostUrl).host : hostUrl.replace(/\/.*$/, '');
  } catch {
    return hostUrl;
  }
}
