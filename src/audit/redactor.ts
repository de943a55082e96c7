// The one redaction registry. Every secret the process decrypts or receives is registered here,
// and every sink (debug log, audit log, error messages, --verbose dumps) passes text through it.

const REDACTED = '[REDACTED]';
/** Shorter values are too likely to collide with ordinary text to be replaced safely. */
const MIN_SECRET_LENGTH = 6;
/**
 * Up to this many secrets, each is looked for with one native substring search. Beyond it (a `list`
 * of 10,000 connections registers every token it decrypts) the text is scanned once instead, and
 * each position looks up the secrets that start with its next MIN_SECRET_LENGTH characters: the
 * cost follows the text's length, not text length × secrets (which took 4 s for one `list --json`).
 */
const SEARCH_EACH_UP_TO = 32;

export class Redactor {
  readonly #secrets = new Set<string>();
  /** Secrets by the hash of their first MIN_SECRET_LENGTH characters, longest first; built on demand. */
  #byHead: Map<number, string[]> | null = null;

  register(value: string | null | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    // Encoded forms travel too: URL-encoded bodies, JSON-escaped strings, basic-auth base64.
    for (const form of [encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) {
      if (form !== value && form.length >= MIN_SECRET_LENGTH) this.#secrets.add(form);
    }
    this.#byHead = null;
  }

  get size(): number {
    return this.#secrets.size;
  }

  /**
   * Plain substring matching, no regular expression: one alternation of every secret outgrew
   * V8's limit (`Regular expression too large`) when a 64 KiB key was stored, and then every
   * output of every command failed. Every occurrence of every secret is covered, and each run of
   * covered text becomes one [REDACTED]: where two secrets overlap, neither leaves a piece behind.
   */
  redact(text: string): string {
    if (this.#secrets.size === 0 || !text) return text;
    const ranges = this.#secrets.size <= SEARCH_EACH_UP_TO ? this.#searchEach(text) : this.#scan(text);
    if (ranges.length === 0) return text;
    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    let i = 0;
    while (i < ranges.length) {
      const start = ranges[i]![0];
      let end = ranges[i]![1];
      // Overlapping occurrences merge; adjacent ones stay two (`[REDACTED][REDACTED]`).
      while (++i < ranges.length && ranges[i]![0] < end) end = Math.max(end, ranges[i]![1]);
      out += text.slice(at, start) + REDACTED;
      at = end;
    }
    return out + text.slice(at);
  }

  #searchEach(text: string): Array<[number, number]> {
    const ranges: Array<[number, number]> = [];
    for (const secret of this.#secrets) {
      for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) ranges.push([at, at + secret.length]);
    }
    return ranges;
  }

  #scan(text: string): Array<[number, number]> {
    const byHead = this.#byHead ??= this.#index();
    const ranges: Array<[number, number]> = [];
    for (let at = 0; at + MIN_SECRET_LENGTH <= text.length; at++) {
      const candidates = byHead.get(headHash(text, at));
      if (!candidates) continue;
      // Longest first: the first that matches covers the most; shorter ones inside it add nothing.
      for (const secret of candidates) {
        if (text.startsWith(secret, at)) {
          ranges.push([at, at + secret.length]);
          break;
        }
      }
    }
    return ranges;
  }

  #index(): Map<number, string[]> {
    const byHead = new Map<number, string[]>();
    for (const secret of [...this.#secrets].sort((a, b) => b.length - a.length)) {
      const hash = headHash(secret, 0);
      const list = byHead.get(hash);
      if (list) list.push(secret);
      else byHead.set(hash, [secret]);
    }
    return byHead;
  }
}

/** A hash of the MIN_SECRET_LENGTH UTF-16 units at `at` (collisions only cost a startsWith). */
function headHash(text: string, at: number): number {
  let hash = 0;
  for (let i = at; i < at + MIN_SECRET_LENGTH; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}

/** The process-wide registry. */
export const redactor = new Redactor();
