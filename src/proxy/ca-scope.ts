// Which names a run's CA may vouch for: the scopes of its routes (providers/host-scope.ts), merged.
// These become the CA's X.509 name constraints (RFC 5280 §4.2.1.10), so a leaf for any other host
// signed by the run's CA is rejected by the child's TLS library, whatever the proxy does.
import { isIP } from 'node:net';
import type { HostScope } from '../broker/index.ts';

export interface CaScope {
  /** dNSName subtrees: the name itself and every name below it (RFC 5280 §4.2.1.10). */
  dns: string[];
  /** Single addresses, IPv4 or IPv6, as isIP reads them. */
  ips: string[];
}

/** Whether a leaf for `host` lies inside the scope, by the same rule the child's TLS library applies. */
export function permits(scope: CaScope, host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (isIP(name)) return scope.ips.some((ip) => sameAddress(ip, name));
  return scope.dns.some((base) => name === base || name.endsWith('.' + base));
}

export function mergeScopes(scopes: HostScope[]): CaScope {
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const s of scopes) 'dns' in s ? dns.add(s.dns) : ips.add(s.ip);
  return { dns: [...dns], ips: [...ips] };
}

function sameAddress(a: string, b: string): boolean {
  return isIP(a) === isIP(b) && ipBytes(a).join('.') === ipBytes(b).join('.');
}

/** An address's bytes: 4 for IPv4, 16 for IPv6 (with `::` expanded and an IPv4 tail read as two groups). */
export function ipBytes(address: string): number[] {
  if (isIP(address) === 4) return address.split('.').map(Number);
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text = v4 ? address.slice(0, v4.index) + [1, 3].map((i) => ((Number(v4[i]) << 8) | Number(v4[i + 1])).toString(16)).join(':') : address;
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = text.includes('::') && tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

