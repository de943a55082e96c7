// JSON text the way Python's json.dumps writes it, so files both implementations share are
// byte-compatible: compact records (`,`/`:`), audit lines (`, `/`: `), indented files.
// Python and JavaScript agree on string escaping with ensure_ascii=False, which the store uses.

/** json.dumps(value, separators=(",", ":"), ensure_ascii=False): identical to JSON.stringify. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value);
}

/** json.dumps(value, ensure_ascii=False): one line, `", "` and `": "` separators. */
export function spacedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map((v) => spacedJson(v ?? null)).join(', ') + ']';
  const parts: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    parts.push(JSON.stringify(key) + ': ' + spacedJson(v));
  }
  return '{' + parts.join(', ') + '}';
}

/** json.dumps(value, indent=2, ensure_ascii=False): JSON.stringify's layout matches except for empty containers, which both print as {} and []. */
export function indentedJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
