// The one redaction registry. Every secret the process decrypts or receives is registered here,
// and every sink (debug log, audit log, error messages, --verbose dumps) passes text through it.

const REDACTED = '[REDACTED]';
/** Shorter values are too likely to collide with ordinary text to be replaced safely. */
const MIN_SECRET_LENGTH = 6;

export class Redactor {
  readonly #secrets = new Set<string>();
  /** Longest first, so a secret that contains another is replaced whole. */
  #ordered: string[] | null = null;

  register(value: string | null | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    // Encoded forms travel too: URL-encoded bodies, JSON-escaped strings, basic-auth base64.
    for (const form of [encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) {
      if (form !== value && form.length >= MIN_SECRET_LENGTH) this.#secrets.add(form);
    }
    this.#ordered = null;
  }

  get size(): number {
    return this.#secrets.size;
  }

  /**
   * Plain substring replacement, no regular expression: one alternation of every secret outgrew
   * V8's limit (`Regular expression too large`) when a 64 KiB key was stored, and then every
   * output of every command failed. Secrets are few; each is one linear scan.
   */
  redact(text: string): string {
    if (this.#secrets.size === 0 || !text) return text;
    this.#ordered ??= [...this.#secrets].sort((a, b) => b.length - a.length);
    let out = text;
    for (const secret of this.#ordered) if (secret.length <= out.length && out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }
}

/** The process-wide registry. */
export const redactor = new Redactor();
