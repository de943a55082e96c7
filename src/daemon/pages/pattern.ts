// Which provider key patterns may become an HTML `pattern` attribute, and in what form. The
// rule: the browser's check must never refuse a value authsome itself accepts (the broker matches
// the whole trimmed value with RE2, as Python's re.fullmatch), because a refused value cannot be
// saved at all. The daemon validates every value again, so dropping a pattern only loses an early hint.

function compiles(source: string, flags: string): boolean {
  try {
    new RegExp(source, flags);
    return true;
  } catch {
    return false;
  }
}

/** Browsers compile `pattern` with the `v` flag and match it as `^(?:pattern)$` (HTML §4.10.5.3.6). */
function compilesAsHtmlPattern(pattern: string): boolean {
  return compiles(pattern, 'v') && compiles(`^(?:${pattern})$`, 'v');
}

/**
 * The body of a pattern anchored as a whole, `^body$` with no top-level `|`, else null. Kept
 * from when the broker searched rather than matched whole: now both match the whole value, and
 * an unanchored pattern only loses the browser's early hint.
 */
function anchoredBody(pattern: string): string | null {
  if (pattern.length < 2 || !pattern.startsWith('^')) return null;
  let depth = 0;
  let inClass = false;
  let lastToken = 0;
  for (let i = 1; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    lastToken = i;
    if (char === '\\') i += 1;
    else if (inClass) inClass = char !== ']';
    else if (char === '[') inClass = true;
    else if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (char === '|' && depth === 0) return null;
  }
  const endsWithAnchor = lastToken === pattern.length - 1 && pattern.endsWith('$');
  return endsWithAnchor && depth === 0 && !inClass ? pattern.slice(1, -1) : null;
}

/**
 * Escapes a `-` that stands first or last in a character class (`[A-Za-z0-9_-]`): a literal
 * dash in `u` mode but a syntax error under `v`, and how most bundled key patterns are written.
 * `\-` is the same dash in both modes, so the meaning does not change.
 */
function escapeEdgeDashes(pattern: string): string {
  let out = '';
  let inClass = false;
  let atClassStart = false;
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '\\') {
      out += char + (pattern[i + 1] ?? '');
      i += 1;
      atClassStart = false;
    } else if (!inClass) {
      out += char;
      if (char === '[') {
        inClass = true;
        atClassStart = true;
        if (pattern[i + 1] === '^') {
          out += '^';
          i += 1;
        }
      }
    } else if (char === ']') {
      out += char;
      inClass = false;
    } else {
      out += char === '-' && (atClassStart || pattern[i + 1] === ']') ? '\\-' : char;
      atClassStart = false;
    }
  }
  return out;
}

/**
 * The `pattern` attribute value for a key pattern, or null to leave the attribute out. Kept
 * only when the pattern is valid in Unicode mode (so browsers from before `v` agree and the dash
 * escape keeps its meaning) and anchored as a whole. `\s*` on each side lets a key pasted with
 * a stray space through, as the broker trims it.
 */
export function toHtmlPattern(pattern: string | null | undefined): string | null {
  if (!pattern || !compiles(pattern, 'u')) return null;
  const body = anchoredBody(pattern);
  if (body === null) return null;
  for (const candidate of [body, escapeEdgeDashes(body)]) {
    const wrapped = `\\s*(?:${candidate})\\s*`;
    if (compiles(wrapped, 'u') && compilesAsHtmlPattern(wrapped)) return wrapped;
  }
  return null;
}
