// route: which provider and connection a request to a URL would carry under `run`, how, and why
// every other route on that host was not chosen — the proxy's own decision, without a network.
import type { Command } from 'commander';
import type { RouteExplanation } from '../../broker/index.ts';
import { AuthsomeError } from '../../util/index.ts';
import { action } from './run.ts';

interface RouteOptions {
  only?: string;
  connection?: string[];
}

/**
 * 0: a credential would be added; 5 (as credential_missing): a provider's route matches but it has
 * no connection `run` would use; 3 (as provider_not_found): nothing would be added for another
 * reason — no route, two routes tie, a provider's own OAuth endpoint, another port, plain http.
 */
export function routeExitCode(decision: RouteExplanation['decision']): number {
  return decision === 'inject' ? 0 : decision === 'not_connected' ? 5 : 3;
}

export function registerRoute(program: Command): void {
  program
    .command('route <url>')
    .description('explain which provider and connection `run` would add to a request for <url>, and how (exit 0 when one would, 5 when its provider has no connection, 3 when none would)')
    .option('--only <providers>', 'decide among these providers only, as `run --only` does')
    .option('--connection <provider=name>', 'use this connection for a provider, as `run --connection` does (repeatable)', (value: string, all: string[] = []) => [...all, value])
    .action(action<RouteOptions>(async ({ authsome, out }, [url], options) => {
      const { only, connections } = routeChoice(options);
      const explained = await authsome.route(url!, { only, connections });
      out.result(explained, () => human(explained));
      return routeExitCode(explained.decision);
    }));
}

function human(e: RouteExplanation): string {
  const lines: string[] = [];
  const target = `${e.host}${e.port === 443 ? '' : `:${e.port}`}${e.path}`;
  if (e.decision === 'inject') lines.push(`${target}: ${e.provider} (${e.connection}) via ${e.rule}${e.status && e.status !== 'connected' ? ` [${e.status}]` : ''}`);
  else if (e.decision === 'not_connected') lines.push(`${target}: ${e.provider} via ${e.rule}, but it has no connection: nothing is added`);
  else lines.push(`${target}: nothing is added`);
  lines.push(`  why: ${e.why}`);
  if (e.injection) {
    const i = e.injection;
    const value = i.value ?? '<credential>';
    if (i.location === 'query') lines.push(`  query: ${i.query_param}=${value}`);
    else if (i.location === 'basic') lines.push(`  header: Authorization: Basic base64(${i.basic_template!.replace('{key}', value)})`);
    else if (i.location === 'headers') for (const [name, template] of Object.entries(i.header_templates ?? {})) lines.push(`  header: ${name}: ${template}`);
    else lines.push(`  header: ${i.header}: ${i.scheme ? `${i.scheme} ` : ''}${value}`);
    for (const [name, v] of Object.entries(i.extra_headers)) lines.push(`  header: ${name}: ${v} (when the request has none)`);
  }
  const others = e.candidates.filter((c) => !c.chosen);
  if (others.length) {
    lines.push('  not chosen:');
    for (const c of others) lines.push(`    ${c.provider}${c.connection ? ` (${c.connection})` : ''} ${c.rule}: ${c.why}`);
  }
  return lines.join('\n');
}

/** `--only p1,p2` and `--connection provider=name …`, as `run` and `route` both take them. */
export function routeChoice(options: { only?: string; connection?: string[] }): { only: string[] | undefined; connections: Record<string, string> } {
  const connections: Record<string, string> = {};
  for (const pair of options.connection ?? []) {
    const [provider, name] = pair.split('=');
    if (!provider || !name) throw new AuthsomeError('usage', `--connection takes provider=name, not "${pair}"`);
    connections[provider] = name;
  }
  return { only: options.only?.split(',').map((s) => s.trim()).filter(Boolean), connections };
}
