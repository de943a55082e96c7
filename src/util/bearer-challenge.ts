// The parameters of a Bearer challenge (RFC 6750 §3, RFC 9728 §5.1): what a resource's 401 or 403
// says about where its metadata is, which scope it wants and what went wrong.

/**
 * `Bearer realm="x", error="insufficient_scope", scope="a b"` → { realm, error, scope }. Only the
 * Bearer challenge counts (a header may carry several schemes); names are lower-cased, quoted
 * values unescaped (RFC 9110 §5.6.4). null when there is no Bearer challenge.
 */
export function parseBearerChallenge(header: string | null | undefined): Record<string, string> | null {
  if (!header) return null;
  const start = /(?:^|,)\s*Bearer(?:\s+|$)/i.exec(header);
  if (!start) return null;
  const params: Record<string, string> = {};
  const rest = header.slice(start.index + start[0].length);
  const pattern = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)/y;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(rest)) !== null) {
    params[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
    if (pattern.lastIndex >= rest.length) break;
  }
  return params;
}
