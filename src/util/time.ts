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

/**
 * The one timestamp format of every `--json` output (the JSON contract): the record format above,
 * `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, whatever form the value was kept in (the audit log's `+00:00`,
 * a JavaScript `toISOString()`). A value that is no timestamp is returned as it is.
 */
export function toContractTimestamp(value: string): string {
  // Most values are kept in the contract's form already (a list prints 10,000 of them): returned as they are.
  if (CONTRACT_FORM.test(value)) return value;
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]00:?00)?$/i.exec(value);
  if (match) {
    const fraction = (match[3] ?? '').padEnd(6, '0').slice(0, 6);
    return `${match[1]}T${match[2]}${/^0*$/.test(fraction) ? '' : `.${fraction}`}Z`;
  }
  const date = parseTimestamp(value);
  return date && /^\d{4}-\d{2}-\d{2}T/.test(value) ? toRecordTimestamp(date) : value;
}

const CONTRACT_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Parses a record timestamp; returns null when absent or unparsable. */
export function parseTimestamp(timestamp: string | null | undefined): Date | null {
  if (!timestamp) return null;
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? null : date;
}
