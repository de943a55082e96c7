// Appending to a log file that stays bounded: past its size the file becomes <file>.1 (replacing
// the previous one) and a new one starts, so a log holds at most about twice its size on disk
// however much is written — by this process or, for the daemon's log, by anyone who can make it
// log a line. Every call looks at the file's size again, so several processes share one log.
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a log file may reach before it is rotated: one backup of at most this size is kept beside it. */
export const ROTATE_BYTES = 1024 * 1024;

/**
 * Appends text (whole lines) to file, rotating first when it would grow past maxBytes. Never
 * throws. With createFolder false a missing folder drops the text: the daemon's home may have
 * been deleted under it, and its log must not make the folders again (it stops on its own).
 */
export function appendRotating(file: string, text: string, { maxBytes = ROTATE_BYTES, createFolder = true } = {}): void {
  try {
    try {
      const { size } = statSync(file);
      if (size > 0 && size + Buffer.byteLength(text) > maxBytes) renameSync(file, file + '.1');
    } catch {
      if (createFolder) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    }
    appendFileSync(file, text, { mode: 0o600 });
  } catch {
    // A log that cannot be written (read-only home, full disk) must never fail what logs.
  }
}

