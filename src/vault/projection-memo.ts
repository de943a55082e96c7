// Remembered projections of records: what `list` and the daemon read of each record (never a
// secret), kept in one sealed file per profile and projection and keyed by the stored value's
// fingerprint (store.ts). A list of 10,000 connections then opens only the values that changed
// since the last one, instead of decrypting every record each time (issue 18). The file is a
// cache: sealed with the master key (it is as private as the store, and a forged one does not
// open), rebuilt when it cannot be read, and never required — a home that cannot take it
// (read-only, full, another owner's) still lists, only slower.
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

/** One remembered record: the fingerprint of the value it came from, and what was kept of it (null: nothing to list). */
export type MemoEntry = readonly [fingerprint: string, projected: Record<string, unknown> | null];

interface MemoFile {
  version: string;
  prefix: string;
  entries: Record<string, MemoEntry>;
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
   * The remembered entries under prefix (the file keeps keys without it); empty when there is no
   * file or the key does not open it (a rekey, damage). Only the primary key: a memo entry says
   * nothing about which key opened its value, so one sealed under a key that has left the ring
   * must not vouch for values that key alone opened.
   */
  read(key: Buffer, prefix: string): Map<string, MemoEntry> {
    if (!this.#file) return new Map();
    let memo: MemoFile;
    try {
      if (!statSync(this.#file).isFile()) return new Map();
      const text = openBytes(key, readFileSync(this.#file));
      if (text === null) return new Map();
      memo = JSON.parse(text) as MemoFile;
    } catch {
      return new Map(); // missing or unreadable: rebuilt by the next write
    }
    if (memo.version !== this.#version || memo.prefix !== prefix || !memo.entries || typeof memo.entries !== 'object') return new Map();
    const entries = new Map<string, MemoEntry>();
    for (const name in memo.entries) entries.set(prefix + name, memo.entries[name]!);
    return entries;
  }

  /**
   * Replaces the file (written aside and renamed into place: readers see the old file or the new
   * one). Best effort: a home this process does not own is left alone, and a failed write only
   * costs the next list its speed.
   */
  write(key: Buffer, prefix: string, entries: Map<string, MemoEntry>): void {
    if (!this.#file) return;
    try {
      if (process.getuid && statSync(this.#home.root).uid !== process.getuid()) return;
      const memo: MemoFile = { version: this.#version, prefix, entries: {} };
      for (const [name, entry] of entries) if (name.startsWith(prefix)) memo.entries[name.slice(prefix.length)] = entry;
      ensurePrivateDir(this.#home.cacheDir);
      writePrivateFile(this.#file, sealBytes(key, JSON.stringify(memo)));
    } catch {
      // A cache: nothing depends on it being written.
    }
  }
}
