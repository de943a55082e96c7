// The rescue file of a refresh (issue 13): where a rotated token pair goes when the store will not
// take it after the provider rotated — the one moment a credential can be lost (refresh-protocol.md,
// "A crash in the middle"). <home>/rescue/<hash>.sealed, mode 0600, one per connection. Its space
// is reserved before the refresh token is spent, so it can be written on a disk that filled while
// the request was in flight; its record is sealed with the master key like the store's values. The
// next access writes it to the store and removes it.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DIR_MODE, FILE_MODE } from '../util/index.ts';

/** The first line of a filled rescue file; a reservation starts with RESERVED instead. */
const MAGIC = 'authsome-rescue 1\n';
const RESERVED = 'authsome-rescue reserved\n';
const PAGE = 4096;

/** What a rescue file holds besides the sealed record: which stored record it continues. */
export interface RescueEnvelope {
  /** The store key of the connection. */
  key: string;
  /** The pending form this pair replaces: its generation and the lease holder that wrote it. */
  generation: number;
  holder: string;
  /** The refreshed connection record, sealed with the master key (vault.sealRecord). */
  record: string;
}

export function rescueDir(home: string): string {
  return join(home, 'rescue');
}

/** One file per connection; the name is a hash, so no profile or provider name has to fit a path. */
export function rescueFile(home: string, recordKey: string): string {
  return join(rescueDir(home), `${createHash('sha256').update(recordKey).digest('hex').slice(0, 16)}.sealed`);
}

/** Whether a filled rescue file waits for this connection (one stat on every access; a read only when a file exists). */
export function hasRescue(home: string, recordKey: string): boolean {
  return readRescue(home, recordKey) !== null;
}

/** The envelope of a filled rescue file; null when there is none (or only a reservation, or a torn write). */
export function readRescue(home: string, recordKey: string): RescueEnvelope | null {
  const path = rescueFile(home, recordKey);
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  if (!text.startsWith(MAGIC)) return null;
  try {
    const envelope = JSON.parse(text.slice(MAGIC.length)) as RescueEnvelope;
    return envelope.key === recordKey && typeof envelope.record === 'string' ? envelope : null;
  } catch {
    return null;
  }
}

/** Every filled rescue file in the home, with the store key it belongs to (rekey refuses while one waits: it is sealed with the current key). */
export function pendingRescues(home: string): Array<{ path: string; key: string }> {
  let names: string[];
  try {
    names = readdirSync(rescueDir(home));
  } catch {
    return [];
  }
  const found: Array<{ path: string; key: string }> = [];
  for (const name of names.filter((n) => n.endsWith('.sealed'))) {
    const path = join(rescueDir(home), name);
    try {
      const text = readFileSync(path, 'utf8');
      if (text.startsWith(MAGIC)) found.push({ path, key: String((JSON.parse(text.slice(MAGIC.length)) as RescueEnvelope).key) });
    } catch {
      // a torn or foreign file: not a rescue
    }
  }
  return found;
}

export function removeRescue(home: string, recordKey: string): void {
  rmSync(rescueFile(home, recordKey), { force: true });
  removeEmptyDir(home);
}

export interface RescueReservation {
  path: string;
  /** Writes the envelope over the reserved bytes (no new blocks on a full disk) and makes it durable. */
  fill(envelope: RescueEnvelope): void;
  /** The refresh stored its pair: the reservation goes. */
  discard(): void;
}

/**
 * Reserves the rescue file before the refresh token is spent: `bytes` (rounded up to whole pages)
 * of placeholder, so that filling it later overwrites blocks the file already owns. Throws when
 * the home cannot take it (full, read-only); the caller decides whether to go on without.
 */
export function reserveRescue(home: string, recordKey: string, bytes: number): RescueReservation {
  const path = rescueFile(home, recordKey);
  const size = Math.ceil(Math.max(bytes, PAGE) / PAGE) * PAGE;
  const fd = openCreating(home, path);
  let written = false;
  try {
    const placeholder = Buffer.alloc(size, ' ');
    placeholder.write(RESERVED);
    writeSync(fd, placeholder, 0, size, 0);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) removeRescue(home, recordKey);
  }
  return {
    path,
    fill(envelope) {
      const content = Buffer.from(MAGIC + JSON.stringify(envelope) + '\n');
      const file = openSync(path, 'r+');
      try {
        writeSync(file, content, 0, content.length, 0);
        ftruncateSync(file, content.length);
        fsyncSync(file);
      } finally {
        closeSync(file);
      }
      syncDir(rescueDir(home));
    },
    discard() {
      removeRescue(home, recordKey);
    },
  };
}

/** The reservation's size for a record of this many bytes: room for a new pair twice as long, sealed (base64) and wrapped. */
export function rescueBytesFor(recordJsonLength: number): number {
  return Math.ceil(((recordJsonLength * 2 + 2048) * 4) / 3) + 1024;
}

/** Opens the file for writing, making the folder first; once more if another process removed the (empty) folder meanwhile. */
function openCreating(home: string, path: string): number {
  for (let attempt = 0; ; attempt += 1) {
    mkdirSync(rescueDir(home), { recursive: true, mode: DIR_MODE });
    try {
      return openSync(path, 'w', FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw error;
    }
  }
}

function removeEmptyDir(home: string): void {
  try {
    rmdirSync(rescueDir(home));
  } catch {
    // not empty (another connection's file), or already gone
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every platform can fsync a directory; the file itself is synced
  }
}
