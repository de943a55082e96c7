// Which names a run's CA may vouch for: one name per route. A literal host is its own name; a
// wildcard host (`https://*.googleapis.com`) the domain below it (googleapis.com: the subtree
// holds every name under it); a `regex:` host gets the literal domain every match ends with
// (`[a-z0-9-]+\.googleapis\.com` → googleapis.com), or none when the pattern guarantees none.
// These become the CA's X.509 name constraints (RFC 5280 §4.2.1.10), so a leaf for any other host
// signed by the run's CA is rejected by the child's TLS library, whatever the proxy does.
import { isIP } from 'node:net';

export interface CaScope {
  /** dNSName subtrees: the name itself and every name below it (RFC 5280 §4.2.1.10). */
  dns: string[];
  /** Single addresses, IPv4 or IPv6, as isIP reads them. */
  ips: string[];
}

export type HostScope = { dns: string } | { ip: string };

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The names a route's CA must permit, or null when none can be derived from the route's URL. */
export function scopeOfRule(url: string): HostScope[] | null {
  if (url.startsWith('regex:')) return scopeOfPattern(url.slice('regex:'.length));
  let host: string;
  const wildcard = /^([a-z]+:\/\/)?\*\./i.exec(url);
  try {
    const text = url.includes('://') ? url : `https://${url}`;
    host = new URL(wildcard ? text.replace('*.', '') : text).hostname.toLowerCase();
  } catch {
    return null;
  }
  // A wildcard's domain must have two labels at least (the schema says so too): never a whole top-level domain.
  if (wildcard) return isDnsName(host, 2) ? [{ dns: host }] : null;
  host = host.replace(/^\[|\]$/g, '');
  if (isIP(host)) return [{ ip: host }];
  return isDnsName(host, 1) ? [{ dns: host }] : null;
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

/**
 * A regex host gets, per top-level alternative, the domain every string it matches must end in:
 * the literal characters at its end (only [a-z0-9-] and `\.`, none under a quantifier), cut after
 * their first dot unless the whole alternative is literal. "x.example.com" ending in
 * "-api.example.com" also ends in ".example.com", so the cut keeps the claim sound. A suffix of
 * one label (`.*\.com`) is refused: it would let the CA vouch for a whole top-level domain.
 */
export function scopeOfPattern(pattern: string): HostScope[] | null {
  const branches = splitTopLevel(pattern);
  if (!branches) return null;
  const out: HostScope[] = [];
  for (const branch of branches) {
    let atoms = tokenize(branch);
    if (!atoms) return null;
    if (atoms[0]?.raw === '^') atoms = atoms.slice(1);
    if (atoms.at(-1)?.raw === '$') atoms = atoms.slice(0, -1);
    // A whole alternative in one unquantified group — "(?:a|b)" — is read inside.
    const only = atoms.length === 1 ? atoms[0]!.raw : '';
    if (/^\((\?:)?/.test(only) && !/^\(\?[=!<]/.test(only)) {
      const inner = scopeOfPattern(only.replace(/^\((\?:)?/, '').slice(0, -1));
      if (!inner) return null;
      out.push(...inner);
      continue;
    }
    let tail = '';
    let i = atoms.length;
    while (i > 0 && atoms[i - 1]!.literal !== null) tail = atoms[--i]!.literal + tail;
    tail = tail.toLowerCase();
    if (i === 0) {
      if (isIP(tail)) out.push({ ip: tail });
      else if (isDnsName(tail, 1)) out.push({ dns: tail });
      else return null;
      continue;
    }
    const dot = tail.indexOf('.');
    const suffix = dot === -1 ? '' : tail.slice(dot + 1);
    if (!isDnsName(suffix, 2)) return null;
    out.push({ dns: suffix });
  }
  return out;
}

function isDnsName(name: string, minLabels: number): boolean {
  const labels = name.split('.');
  return name.length > 0 && name.length <= 253 && labels.length >= minLabels && labels.every((l) => LABEL.test(l)) && !isIP(name);
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

interface Atom {
  raw: string;
  /** The one host character this atom always matches, or null. */
  literal: string | null;
}

/** Splits at `|` outside groups and classes; null when the pattern is malformed. */
function splitTopLevel(pattern: string): string[] | null {
  const atoms = tokenize(pattern);
  if (!atoms) return null;
  const branches: string[] = [''];
  for (const atom of atoms) {
    if (atom.raw === '|') branches.push('');
    else branches[branches.length - 1] += atom.raw;
  }
  return branches;
}

/**
 * A JavaScript pattern (no `u` flag, as routes.ts compiles it) as top-level atoms: escapes,
 * classes and whole groups are one atom each. Only an unquantified host character or `\.`, `\-`
 * counts as literal; a quantifier is an atom of its own that is not, so a scan from the end stops
 * at it before reaching the character it repeats.
 */
function tokenize(pattern: string): Atom[] | null {
  const atoms: Atom[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return null;
      atoms.push({ raw: c + next, literal: next === '.' || next === '-' ? next : null });
      i += 2;
    } else if (c === '[') {
      const end = classEnd(pattern, i);
      if (end === -1) return null;
      atoms.push({ raw: pattern.slice(i, end + 1), literal: null });
      i = end + 1;
    } else if (c === '(') {
      const end = groupEnd(pattern, i);
      if (end === -1) return null;
      atoms.push({ raw: pattern.slice(i, end + 1), literal: null });
      i = end + 1;
    } else {
      atoms.push({ raw: c, literal: /[a-z0-9-]/i.test(c) ? c : null });
      i += 1;
    }
  }
  return atoms;
}

function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i;
  }
  return -1;
}

function groupEnd(pattern: string, start: number): number {
  let depth = 0;
  for (let i = start; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') {
      i = classEnd(pattern, i);
      if (i === -1) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}
