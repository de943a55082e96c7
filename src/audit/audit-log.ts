// The audit log: JSON lines in the Python authsome's format (`", "`/`": "` separators,
// timestamp and event first, null fields dropped). It records what happened, never a secret.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDir, spacedJson, toAuditTimestamp, FILE_MODE, isNotWritable, notWritableError } from '../util/index.ts';
import { redactor } from './redactor.ts';

export type AuditFields = Record<string, unknown>;

export interface AuditEntry {
  timestamp: string;
  event: string;
  [field: string]: unknown;
}

export class AuditLog {
  constructor(readonly path: string) {}

  append(event: string, fields: AuditFields = {}): void {
    const entry: Record<string, unknown> = { timestamp: toAuditTimestamp(), event };
    for (const [key, value] of Object.entries(fields)) if (value != null) entry[key] = value;
    const line = redactor.redact(spacedJson(entry)) + '\n';
    try {
      // A failed first login in a new home still leaves its trace (the home is created 0700).
      if (!existsSync(dirname(this.path))) ensurePrivateDir(dirname(this.path));
      appendFileSync(this.path, line, { mode: FILE_MODE });
    } catch (error) {
      if (isNotWritable(error)) throw notWritableError(this.path, error);
      throw error;
    }
  }

  /** The last `limit` entries, oldest first; `event` filters by event name. Unparsable lines are skipped. */
  read(limit = 50, event?: string): AuditEntry[] {
    if (!existsSync(this.path)) return [];
    const entries: AuditEntry[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as AuditEntry;
        if (!event || entry.event === event) entries.push(entry);
      } catch {
        // A torn or foreign line must not hide the rest of the log.
      }
    }
    return limit > 0 ? entries.slice(-limit) : entries;
  }
}
