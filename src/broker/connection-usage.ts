// How each connection of a profile is used — the variable names `export` and `run` give it and a
// URL its route covers — read from the provider's definition and the record's non-secret fields
// (base_url, instance_url), so a page can show the command lines to copy without ever holding a value.
import { keys, type ConnectionRecord } from '../vault/index.ts';
import { apiKeyEnvVar } from './api-key-login.ts';
import type { BrokerContext } from './context.ts';
import { exportMapping } from './export.ts';
import { routeSpec } from './proxy-support.ts';

export interface ConnectionUsage {
  provider: string;
  connection: string;
  auth_type: string;
  /** The variables `export` sets (names only). */
  env_vars: string[];
  /** A URL `run`, `headers --url` and the library's fetch add this connection's credential to; null when its routes name only patterns or none. */
  url: string | null;
}

export async function connectionUsage(ctx: BrokerContext): Promise<ConnectionUsage[]> {
  const profile = ctx.requireProfileForRead();
  const { records } = await ctx.vault.list(profile, keys.profilePrefix(profile));
  const usage: ConnectionUsage[] = [];
  for (const { parsed, record } of records) {
    if (parsed.kind !== 'connection') continue;
    const connection = record as ConnectionRecord;
    const definition = (await ctx.registry.get(connection.provider).catch(() => null))?.definition ?? null;
    const env = new Set(Object.entries(exportMapping(definition, connection)).filter(([field]) => field !== 'refresh_token' && field !== 'client_secret').map(([, name]) => name));
    const keyVar = definition ? apiKeyEnvVar(definition) : null;
    if (keyVar) env.add(keyVar);
    const spec = routeSpec(definition, connection);
    usage.push({
      provider: connection.provider, connection: connection.connection_name, auth_type: connection.auth_type,
      env_vars: [...env], url: 'rules' in spec ? firstUrl(spec.rules.map((r) => r.url)) : null,
    });
  }
  return usage.sort((a, b) => a.provider.localeCompare(b.provider) || a.connection.localeCompare(b.connection));
}

/** The first rule that names one host (not a pattern or a wildcard), as an https URL. */
function firstUrl(rules: string[]): string | null {
  for (const rule of rules) {
    if (rule.startsWith('regex:') || rule.includes('*')) continue;
    const url = rule.includes('://') ? rule : `https://${rule}`;
    try {
      const parsed = new URL(url);
      return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    } catch {
      continue;
    }
  }
  return null;
}
