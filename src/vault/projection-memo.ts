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
// ("shape"), every value that is not a string, or a string that more than one record holds (a
// provider, a status, a scope list), once in a table that records refer to by index, and the keys
// and fingerprints each as one string with their lengths beside it: 10,000 connections keep
// ~1.3 MB instead of ~3 MB, and parsing it makes ~30,000 fewer objects for the collector to copy.
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
 * the next list rewrites it). Entry i's key is the next keyLengths[i] characters of `keys`, its
 * fingerprint the next fingerprintLengths[i] of `fingerprints` (lengths, not separators: a shared
 * store's keys may hold any character); its projection is at cells[offset]: a shape index (-1:
 * null), then one cell per field of that shape. A cell is a string, or the index of a value in `values`.
 */
const FORMAT = 2;
interface MemoFile {
  format: typeof FORMAT;
  version: string;
  prefix: string;
  keys: string;
  keyLengths: number[];
  fingerprints: string;
  fingerprintLengths: number[];
  shapes: string[][];
  values: unknown[];
  cells: Array<string | number>;
}

/** The entries of a memo as read, in the order they were written (the store's key order). */
export class RememberedEntries {
  readonly size: number;
  readonly #memo: MemoFile;
  readonly #layout: Layout;
  /** Built only when the store's keys no longer line up with the memo's (a record added or removed). */
  #byKey: Map<string, number> | null = null;

  constructor(memo: MemoFile, layout: Layout) {
    this.#memo = memo;
    this.#layout = layout;
    this.size = memo.keyLengths.length;
  }

  /** The index of key in the memo (-1: not in it); `hint` is where it would be if nothing was added or removed before it. */
  indexOf(key: string, hint: number): number {
    if (hint < this.size && this.#memo.keyLengths[hint] === key.length && this.#memo.keys.startsWith(key, this.#layout.keyAt[hint]!)) return hint;
    if (!this.#byKey) {
      this.#byKey = new Map();
      for (let i = 0; i < this.size; i++) this.#byKey.set(this.#memo.keys.slice(this.#layout.keyAt[i]!, this.#layout.keyAt[i]! + this.#memo.keyLengths[i]!), i);
    }
    return this.#byKey.get(key) ?? -1;
  }

  /** Whether the value entry `index` was made from has this fingerprint. */
  hasFingerprint(index: number, fingerprint: string): boolean {
    return this.#memo.fingerprintLengths[index] === fingerprint.length && this.#memo.fingerprints.startsWith(fingerprint, this.#layout.fingerprintAt[index]!);
  }

  /** A fresh object for each call; the values it shares with other entries (from the table) are frozen. */
  projected(index: number): Record<string, unknown> | null {
    const { cells, shapes, values } = this.#memo;
    let at = this.#layout.cellsAt[index]!;
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
      return new RememberedEntries(memo, offsets);
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

/** Where each entry's key, fingerprint and cells start. */
interface Layout {
  keyAt: Int32Array;
  fingerprintAt: Int32Array;
  cellsAt: Int32Array;
}

/** Each entry's place in the columns; null when the file does not hold together (its lengths, its shapes). */
function layout(memo: MemoFile): Layout | null {
  const { keys, keyLengths, fingerprints, fingerprintLengths, shapes, cells } = memo;
  if (typeof keys !== 'string' || typeof fingerprints !== 'string' || !Array.isArray(keyLengths) || !Array.isArray(fingerprintLengths)) return null;
  if (!Array.isArray(shapes) || !Array.isArray(memo.values) || !Array.isArray(cells) || keyLengths.length !== fingerprintLengths.length) return null;
  const size = keyLengths.length;
  const result: Layout = { keyAt: new Int32Array(size), fingerprintAt: new Int32Array(size), cellsAt: new Int32Array(size) };
  let key = 0;
  let fingerprint = 0;
  let cell = 0;
  for (let i = 0; i < size; i++) {
    result.keyAt[i] = key;
    result.fingerprintAt[i] = fingerprint;
    result.cellsAt[i] = cell;
    key += keyLengths[i]!;
    fingerprint += fingerprintLengths[i]!;
    const shape = cells[cell++];
    if (shape === -1) continue;
    if (typeof shape !== 'number' || !Array.isArray(shapes[shape])) return null;
    cell += shapes[shape].length;
  }
  return key === keys.length && fingerprint === fingerprints.length && cell === cells.length ? result : null;
}

function encode(version: string, prefix: string, entries: readonly MemoEntry[]): MemoFile {
  const memo: MemoFile = { format: FORMAT, version, prefix, keys: '', keyLengths: [], fingerprints: '', fingerprintLengths: [], shapes: [], values: [], cells: [] };
  const keys: string[] = [];
  const fingerprints: string[] = [];
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
    keys.push(key);
    memo.keyLengths.push(key.length);
    fingerprints.push(fingerprint);
    memo.fingerprintLengths.push(fingerprint.length);
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
  memo.keys = keys.join('');
  memo.fingerprints = fingerprints.join('');
  return memo;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
}
