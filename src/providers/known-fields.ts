// Which fields a provider definition may carry — every field our schema declares, plus those the
// Python authsome's models declare — so that any other field (a typo such as `oauth.refresh_ulr`)
// is reported by its JSON path instead of being silently ignored. The file is still accepted:
// the Python models allow extras, and definitions written for it may carry fields of their own.
import type { z } from 'zod';
import { providerSchema } from './schema.ts';

/** Known field names, nested; `true` marks a leaf or a free-form object (metadata, export.env). */
type FieldTree = { [field: string]: FieldTree | true };

/**
 * Fields of the Python authsome 0.2.x models (auth/models/provider.py) that our schema does not
 * declare. Everything else the Python models declare is in our schema, which the tree is derived
 * from, so this is the only hand-written list.
 */
const PYTHON_ONLY: FieldTree = {
  docs_url: true,
  api_url: true,
  registration: { registration_endpoint: true },
  oauth: { supports_device_code: true },
};

export interface UnknownField {
  /** The field's JSON path, e.g. `oauth.refresh_ulr`. */
  path: string;
  /** For people: the path, a likely intended field, and that the value is kept but not used. */
  message: string;
}

let known: FieldTree | null = null;

/** Every field of a raw (parsed, not yet validated) definition that no schema declares, in file order. */
export function findUnknownFields(raw: unknown): UnknownField[] {
  known ??= merge(treeOf(providerSchema) as FieldTree, PYTHON_ONLY);
  const found: UnknownField[] = [];
  walk(raw, known, '', found);
  return found;
}

function walk(value: unknown, tree: FieldTree, prefix: string, found: UnknownField[]): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [field, child] of Object.entries(value)) {
    const path = prefix + segment(field, prefix === '');
    const node = Object.hasOwn(tree, field) ? tree[field] : undefined;
    if (node === undefined) {
      const guess = closest(field, Object.keys(tree));
      const suggestion = guess ? ` (did you mean ${prefix + segment(guess, prefix === '')}?)` : '';
      found.push({ path, message: `unknown field ${path}${suggestion}; it is kept, but authsome does not use it` });
    } else if (node !== true) {
      walk(child, node, path, found);
    }
  }
}

/** The known fields of a zod schema: an object's shape, recursively; anything else is a leaf. */
function treeOf(schema: z.core.$ZodType): FieldTree | true {
  const def = schema._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return treeOf(def.innerType!);
    case 'pipe':
      return treeOf(def.in!);
    case 'object':
      return Object.fromEntries(Object.entries(def.shape!).map(([field, child]) => [field, treeOf(child)]));
    default:
      return true; // strings, enums, arrays, and records (free-form maps such as metadata)
  }
}

function merge(ours: FieldTree, extra: FieldTree): FieldTree {
  const merged: FieldTree = { ...ours };
  for (const [field, node] of Object.entries(extra)) {
    const mine = merged[field];
    merged[field] = mine && mine !== true && node !== true ? merge(mine, node) : mine ?? node;
  }
  return merged;
}

function segment(field: string, first: boolean): string {
  if (/^[A-Za-z_$][\w$]*$/.test(field)) return first ? field : `.${field}`;
  return `[${JSON.stringify(field)}]`;
}

/** The known sibling a typo most likely meant: at most two edits away (a swap counts as one). */
function closest(field: string, candidates: string[]): string | null {
  if (field.length < 4) return null;
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(field.toLowerCase(), candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
