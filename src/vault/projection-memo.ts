// Remembered projections of records: what `list` and the daemon read of each record (never a
// secret), kept in one sealed file per profile and projection and keyed by the stored value's
// fingerprint (store.ts). A list of 10,000 connections then opens only the values that changed
// since the last one, instead of decrypting every record each time (issue 18). The file is a
// cache: sealed with the master key (it is as private as the store, and a forged one does not
// open), rebuilt when it cannot be read, and never required — a home that cannot take it
// (read-only, full, another owner's) still lists, only slower.
//
// The file is read on every list, so it is laid out to be parsed quickly (issue 18): columns
// instead of one object per record, each record's field names once per distinct set of names
// ("shape"), and every value that is not a string, or a string that more than one record holds
// (a provider, a status, a scope list), once in a table that records refer to by index. 10,000
// connections keep ~1.3 MB instead of ~3 MB of objects that repeated every name and most values.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, writePrivateFile } from '../util/index.ts';
import { openBytes, sealBytes } from './codec.ts';
import type { Home } from './home.ts';
import { isValidName, type RecordKind } from './keys.ts';
import type { RecordByKind } from './records.ts';

/**
 * What a caller keeps of each record. `id` names the file and must change whenever `project`
 * changes what it keeps (a memo written by another version of authsome is not read either).
 * `project` must keep no secret: its result is written to the memo file.
 */
export interface Projection {
  readonly id: string;
  project<K extends RecordKind>(kind: K, record: RecordByKind[K]): Record<string, unknown> | null;
}

/** One record to remember: its store key, the fingerprint of its value, and what was kept of it (null: nothing to list). */
export type MemoEntry = readonly [key: string, fingerprint: string, projected: Record<string, unknown> | null];

/**
 * The file's layout; raise FORMAT whenever it changes (a file of another format is not read, and
 * the next list rewrites it). Entry i is names[i] (its key without the prefix) with
 * fingerprints[i]; its projection is at cells[offset]: a shape index (-1: null), then one cell per
 * field of that shape. A cell is a string, or the index of a value in `values`.
 */
const FORMAT = 2;
interface MemoFile {
  format: typeof FORMAT;
  version: string;
  prefix: string;
  names: string[];
  fingerprints: string[];
  shapes: string[][];
  values: unknown[];
  cells: Array<string | number>;
}

/** The entries of a memo as read, in the order they were written (the store's key order). */
export class RememberedEntries {
  readonly size: number;
  readonly #prefix: string;
  readonly #memo: MemoFile;
  readonly #offsets: Int32Array;
  /** Built only when the store's keys no longer line up with the memo's (a record added or removed). */
  #byName: Map<string, number> | null = null;

  constructor(prefix: string, memo: MemoFile, offsets: Int32Array) {
    this.#prefix = prefix;
    this.#memo = memo;
    this.#offsets = offsets;
    this.size = memo.names.length;
  }

  /** The index of key in the memo (-1: not in it); `hint` is where it would be if nothing was added or removed before it. */
  indexOf(key: string, hint: number): number {
    const names = this.#memo.names;
    const name = hint < names.length ? names[hint]! : undefined;
    // The store's keys all start with the prefix (it asked for them), so the rest is all to compare.
    if (name !== undefined && key.length === this.#prefix.length + name.length && key.endsWith(name)) return hint;
    if (!this.#byName) {
      this.#byName = new Map();
      for (let i = 0; i < names.length; i++) this.#byName.set(names[i]!, i);
    }
    return key.startsWith(this.#prefix) ? this.#byName.get(key.slice(this.#prefix.length)) ?? -1 : -1;
  }

  fingerprint(index: number): string {
    return this.#memo.fingerprints[index]!;
  }

  /** A fresh object for each call; the values it shares with other entries (from the table) are frozen. */
  projected(index: number): Record<string, unknown> | null {
    const { cells, shapes, values } = this.#memo;
    let at = this.#offsets[index]!;
    const shape = cells[at++] as number;
    if (shape < 0) return null;
    const fields = shapes[shape]!;
    const projected: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const cell = cells[at++]!;
      projected[fields[i]!] = typeof cell === 'string' ? cell : values[cell];
    }
    return projected;
  }
}

export class ProjectionMemo {
  readonly #home: Home;
  /** Null for a profile whose name cannot be part of a path (a shared store's rows are anyone's input): no memo. */
  readonly #file: string | null;
  readonly #version: string;

  constructor(home: Home, profile: string, projection: Projection, version: string) {
    this.#home = home;
    this.#file = isValidName(profile) ? join(home.cacheDir, `${projection.id}.${profile}.sealed`) : null;
    this.#version = version;
  }

  /**
   * The remembered entries under prefix; null when there is no file, the key does not open it (a
   * rekey, damage) or it is of another format or version. Only the primary key: a memo entry says
   * nothing about which key opened its value, so one sealed under a key that has left the ring
   * must not vouch for values that key alone opened.
   */
  read(key: Buffer, prefix: string): RememberedEntries | null {
    if (!this.#file) return null;
    try {
      if (!statSync(this.#file).isFile()) return null;
      const text = openBytes(key, readFileSync(this.#file));
      if (text === null) return null;
      const memo = JSON.parse(text) as MemoFile;
      if (memo.format !== FORMAT || memo.version !== this.#version || memo.prefix !== prefix) return null;
      const offsets = layout(memo);
      if (!offsets) return null;
      for (const value of memo.values) deepFreeze(value);
      return new RememberedEntries(prefix, memo, offsets);
    } catch {
      return null; // missing or unreadable: rebuilt by the next write
    }
  }

  /**
   * Replaces the file (written aside and renamed into place: readers see the old file or the new
   * one). Best effort: a home this process does not own is left alone, and a failed write only
   * costs the next list its speed.
   */
  write(key: Buffer, prefix: string, entries: readonly MemoEntry[]): void {
    if (!this.#file) return;
    try {
      if (process.getuid && statSync(this.#home.root).uid !== process.getuid()) return;
      ensurePrivateDir(this.#home.cacheDir);
      writePrivateFile(this.#file, sealBytes(key, JSON.stringify(encode(this.#version, prefix, entries))));
    } catch {
      // A cache: nothing depends on it being written.
    }
  }
}

/** Where each entry's cells start; null when the file does not hold together (its lengths, its shapes). */
function layout(memo: MemoFile): Int32Array | null {
  const { names, fingerprints, shapes, cells } = memo;
  if (!Array.isArray(names) || !Array.isArray(fingerprints) || !Array.isArray(shapes) || !Array.isArray(memo.values) || !Array.isArray(cells)) return null;
  if (names.length !== fingerprints.length) return null;
  const offsets = new Int32Array(names.length);
  let at = 0;
  for (let i = 0; i < names.length; i++) {
    offsets[i] = at;
    const shape = cells[at++];
    if (shape === -1) continue;
    if (typeof shape !== 'number' || !Array.isArray(shapes[shape])) return null;
    at += shapes[shape].length;
  }
  return at === cells.length ? offsets : null;
}

function encode(version: string, prefix: string, entries: readonly MemoEntry[]): MemoFile {
  const memo: MemoFile = { format: FORMAT, version, prefix, names: [], fingerprints: [], shapes: [], values: [], cells: [] };
  const shapeIds = new Map<string, number>();
  // Strings held by more than one entry go to the table; JSON text stands for any other value.
  const stringCount = new Map<string, number>();
  for (const [, , projected] of entries) {
    if (projected) for (const field in projected) {
      const value = projected[field];
      if (typeof value === 'string') stringCount.set(value, (stringCount.get(value) ?? 0) + 1);
    }
  }
  const stringIds = new Map<string, number>();
  const otherIds = new Map<string, number>();
  const valueId = (value: unknown): string | number => {
    if (typeof value === 'string') {
      if (stringCount.get(value)! < 2) return value;
      let id = stringIds.get(value);
      if (id === undefined) stringIds.set(value, (id = memo.values.push(value) - 1));
      return id;
    }
    const text = JSON.stringify(value) ?? 'null';
    let id = otherIds.get(text);
    if (id === undefined) otherIds.set(text, (id = memo.values.push(JSON.parse(text)) - 1));
    return id;
  };
  for (const [key, fingerprint, projected] of entries) {
    if (!key.startsWith(prefix)) continue;
    memo.names.push(key.slice(prefix.length));
    memo.fingerprints.push(fingerprint);
    if (!projected) {
      memo.cells.push(-1);
      continue;
    }
    // A field set to undefined is left out, as JSON.stringify leaves it out of an object.
    const fields = Object.keys(projected).filter((field) => projected[field] !== undefined);
    const shapeKey = JSON.stringify(fields);
    let shape = shapeIds.get(shapeKey);
    if (shape === undefined) shapeIds.set(shapeKey, (shape = memo.shapes.push(fields) - 1));
    memo.cells.push(shape);
    for (const field of fields) memo.cells.push(valueId(projected[field]));
  }
  return memo;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
}
