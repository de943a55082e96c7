// What `authsome mcp serve` lets an agent touch: the providers, hosts and methods of the
// --allow-provider, --allow-host and --allow-method lists (each unrestricted when not given).
// Every refusal names the list that refused, so the agent can tell its user what to change.
import { AuthsomeError, isValidName } from '../util/index.ts';

export interface ServePolicy {
  providers: string[] | null;
  hosts: string[] | null;
  methods: string[] | null;
}

/** An HTTP method is a token (RFC 9110 §9.1): letters, in upper case as registered. */
const METHOD = /^[A-Z]{1,32}$/;
/** A host, or `*.example.com` for every name below example.com. */
const HOST = /^(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$|^\d{1,3}(?:\.\d{1,3}){3}$/;

export function servePolicy(options: { allowProvider?: string[]; allowHost?: string[]; allowMethod?: string[] }): ServePolicy {
  const providers = options.allowProvider?.length ? options.allowProvider : null;
  for (const name of providers ?? []) {
    if (!isValidName(name)) throw new AuthsomeError('usage', `--allow-provider ${JSON.stringify(name)} is not a provider name`, { hint: 'Name a provider as `authsome list` shows it: --allow-provider github' });
  }
  const hosts = options.allowHost?.length ? options.allowHost.map((h) => h.toLowerCase()) : null;
  for (const host of hosts ?? []) {
    if (!HOST.test(host)) throw new AuthsomeError('usage', `--allow-host ${JSON.stringify(host)} is not a host name`, { hint: 'Give a host, or *.example.com for every name below it: --allow-host api.github.com' });
  }
  const methods = options.allowMethod?.length ? options.allowMethod.map((m) => m.toUpperCase()) : null;
  for (const method of methods ?? []) {
    if (!METHOD.test(method)) throw new AuthsomeError('usage', `--allow-method ${JSON.stringify(method)} is not an HTTP method`, { hint: 'For example: --allow-method GET --allow-method POST' });
  }
  return { providers, hosts, methods };
}

export function allowsProvider(policy: ServePolicy, provider: string): boolean {
  return policy.providers === null || policy.providers.includes(provider);
}

/** Why a request is refused before any route is looked at (its method or host), or null. */
export function requestRefusal(policy: ServePolicy, method: string, url: URL): string | null {
  if (policy.methods && !policy.methods.includes(method)) return `the method ${method} is not allowed (--allow-method ${policy.methods.join(', ')})`;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (policy.hosts && !policy.hosts.some((allowed) => (allowed.startsWith('*.') ? host.endsWith(allowed.slice(1)) : host === allowed))) {
    return `the host ${host} is not allowed (--allow-host ${policy.hosts.join(', ')})`;
  }
  return null;
}

export function providerRefusal(policy: ServePolicy, provider: string): string {
  return `the provider ${provider} is not allowed (--allow-provider ${policy.providers!.join(', ')})`;
}
