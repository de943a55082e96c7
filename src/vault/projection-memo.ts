// Remembered projections of records: what `list` shows of each record (never a secret), kept in one
// sealed file per profile and projection and keyed by the stored value's fingerprint. A list of
// 10,000 connections then opens only the values that changed since the last one, instead of
// decrypting every record each time (issue 18). The file is a cache: sealed with the master key
// (it is as private as the store, and a forged one does not open), rebuilt when it cannot be
// read, and never required — a home that cannot take it (read-only, full, another owner's) still
// lists, only slower.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBytes, sealBytes } from './codec.ts';
import type { RecordKind } from './keys.ts';
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
  readonly #file: string;
  readonly #version: string;

  constructor(root: string, profile: string, projection: Projection, version: string) {
    this.#file = join(root, 'cache', `${projection.id}.${profile}.sealed`);
    this.#version = version;
  }

  /**
   * The remembered entries under prefix (the file keeps keys without it); empty when there is no
   * file or no key opens it (a rekey, damage).
   */
  read(keys: ReadonlyArray<Buffer>, prefix: string): Map<string, MemoEntry> {
    let sealed: Buffer;
    try {
      sealed = readFileSync(this.#file);
    } catch {
      return new Map();
    }
    for (const key of keys) {
      const text = openBytes(key, sealed);
      if (text === null) continue;
      try {
        const memo = JSON.parse(text) as MemoFile;
        if (memo.version !== this.#version || memo.prefix !== prefix || !memo.entries || typeof memo.entries !== 'object') break;
        const entries = new Map<string, MemoEntry>();
        for (const name in memo.entries) entries.set(prefix + name, memo.entries[name]!);
        return entries;
      } catch {
        // Unreadable: rebuilt by the next write.
      }
      break;
    }
    return new Map();
  }

  /**
   * Replaces the file (a new name renamed into place: readers see the old file or the new one).
   * Best effort: a home this process does not own is left alone, and a failed write only costs
   * the next list its speed.
   */
  write(key: Buffer, prefix: string, entries: Map<string, MemoEntry>, home: string): void {
    try {
      if (process.getuid && statSync(home).uid !== process.getuid()) return;
      mkdirSync(join(home, 'cache'), { recursive: true, mode: 0o700 });
      const temp = `${this.#file}.${process.pid}-${randomBytes(4).toString('hex')}`;
      const memo: MemoFile = { version: this.#version, prefix, entries: {} };
      for (const [name, entry] of entries) if (name.startsWith(prefix)) memo.entries[name.slice(prefix.length)] = entry;
      try {
        writeFileSync(temp, sealBytes(key, JSON.stringify(memo)), { mode: 0o600, flag: 'wx' });
        renameSync(temp, this.#file);
      } catch (error) {
        rmSync(temp, { force: true });
        throw error;
      }
    } catch {
      // A cache: nothing depends on it being written.
    }
  }
}
