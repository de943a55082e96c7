// Which directory a login goes to, for a definition whose OAuth URLs name `{tenant}` (Microsoft's
// identity platform: /common takes any account, but a single-tenant app registration — the
// default — is refused there with AADSTS50194 and must use its own tenant ID or domain). The
// choice is kept in the connection record and the client record, so refreshes go where the grant
// was issued and the next login of that client goes there too.
import { TENANT_PATTERN, type ProviderDefinition, type UrlValues } from '../providers/index.ts';
import { AuthsomeError, type Environment } from '../util/index.ts';
import { isReservedVariable } from './reserved-variables.ts';

const OAUTH_URL_FIELDS = ['authorization_url', 'token_url', 'refresh_url', 'revocation_url', 'device_authorization_url', 'registration_endpoint', 'userinfo_url', 'issuer'] as const;

/** Whether any of the definition's OAuth URLs names `{tenant}`. */
export function usesTenant(definition: ProviderDefinition): boolean {
  const o = definition.oauth;
  return OAUTH_URL_FIELDS.some((field) => typeof o?.[field] === 'string' && (o[field] as string).includes('{tenant}'));
}

/** A tenant as a record keeps it (an extra field, which the Python store format allows), or null. */
export function storedTenant(record: Record<string, unknown> | null | undefined): string | null {
  const value = record?.tenant;
  return typeof value === 'string' && TENANT_PATTERN.test(value) ? value : null;
}

/** The URL values of a stored connection: its base URL and its tenant. */
export function connectionUrlValues(record: { base_url: string | null; [field: string]: unknown }): UrlValues {
  return { base_url: record.base_url, tenant: storedTenant(record) };
}

/**
 * The tenant of a new login, first found: `--tenant`; the replaced connection's (a `login --force`
 * stays in its directory, as it stays on its --base-url); the definition's `client.tenant_env`
 * variable; the stored client's; the definition's `oauth.tenant`. Null for a definition without
 * `{tenant}`, which refuses `--tenant` rather than ignore it.
 */
export function chooseTenant(
  definition: ProviderDefinition,
  sources: { option?: string | undefined; replaced?: string | null; client?: string | null; env: Environment },
): string | null {
  if (!usesTenant(definition)) {
    if (sources.option !== undefined) {
      throw new AuthsomeError('input_invalid', `${definition.name} has no {tenant} in its OAuth URLs, so --tenant does not apply`, {
        hint: `Leave out --tenant: authsome login ${definition.name}`, provider: definition.name,
      });
    }
    return null;
  }
  if (sources.option !== undefined) return checkedTenant(definition, sources.option, '--tenant');
  if (sources.replaced) return sources.replaced;
  const variable = definition.client?.tenant_env;
  const fromEnv = variable && !isReservedVariable(variable) ? sources.env[variable]?.trim() : undefined;
  if (fromEnv) return checkedTenant(definition, fromEnv, variable!);
  return sources.client ?? definition.oauth?.tenant ?? null;
}

function checkedTenant(definition: ProviderDefinition, value: string, from: string): string {
  if (TENANT_PATTERN.test(value)) return value;
  throw new AuthsomeError('input_invalid', `${from} is not a tenant: use "common", "organizations", "consumers", a tenant ID or a domain name (letters, digits, "." and "-")`, {
    hint: `For example: authsome login ${definition.name} --tenant contoso.onmicrosoft.com`, provider: definition.name,
  });
}
