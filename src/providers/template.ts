// URL templates in provider definitions: "{base_url}/oauth/token" takes the connection's or
// client's base_url, else the definition's default (e.g. self-hosted GitLab).

export function expandUrl(template: string | null | undefined, baseUrl: string | null | undefined): string | null {
  if (!template) return null;
  if (!template.includes('{base_url}')) return template;
  if (!baseUrl) return null;
  return template.replaceAll('{base_url}', baseUrl.replace(/\/+$/, ''));
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
