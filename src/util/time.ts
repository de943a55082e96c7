// Timestamps in the Python authsome's formats (store-format.md): records use
// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, the audit log uses isoformat() with `+00:00`.

/** Record format: no fraction when the sub-second part is zero, else exactly 6 digits. */
export function toRecordTimestamp(date: Date = new Date()): string {
  const iso = date.toISOString(); // 2026-11-25T13:34:27.283Z
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? iso.slice(0, 19) + 'Z' : `${iso.slice(0, 19)}.${String(ms).padStart(3, '0')}000Z`;
}

/** Audit format: Python's datetime.isoformat() on an aware UTC datetime. */
export function toAuditTimestamp(date: Date = new Date()): string {
  const iso = date.toISOString();
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? iso.slice(0, 19) + '+00:00' : `${iso.slice(0, 19)}.${String(ms).padStart(3, '0')}000+00:00`;
}

/** `list --json` shows expiry as Python's isoformat() (`+00:00`), as scripts for the Python CLI expect. */
export function recordToIsoOffset(timestamp: string | null | undefined): string | null {
  if (!timestamp) return null;
  return timestamp.endsWith('Z') ? timestamp.slice(0, -1) + '+00:00' : timestamp;
}

/** Parses a record timestamp; returns null when absent or unparsable. */
export function parseTimestamp(timestamp: string | null | undefined): Date | null {
  if (!timestamp) return null;
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? null : date;
}
