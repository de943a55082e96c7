// The names a route can be vouched for under: a literal host is its own name; a wildcard host
// (`https://*.googleapis.com`) the domain below it (googleapis.com: the subtree holds every name
// under it); a `regex:` host the literal domain every match ends with (`[a-z0-9-]+\.googleapis\.com`
// → googleapis.com), or none when the pattern guarantees none — such a route is refused, since the
// run's CA (X.509 name constraints, RFC 5280 §4.2.1.10) could not be limited to it.
import { isIP } from 'node:net';

export type HostScope = { dns: string } | { ip: string };

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A host of one label or more, or (minLabels 2) a domain that is never a whole top-level domain. */
export function isDnsName(name: string, minLabels: number): boolean {
  const labels = name.split('.');
  return name.length > 0 && name.length <= 253 && labels.length >= minLabels && labels.every((l) => LABEL.test(l)) && !isIP(name);
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
