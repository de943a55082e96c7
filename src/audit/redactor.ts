// The one redaction registry. Every secret the process decrypts or receives is registered here,
// and every sink (debug log, audit log, error messages, --verbose dumps) passes text through it.

const REDACTED = '[REDACTED]';
/** Shorter values are too likely to collide with ordinary text to be replaced safely. */
const MIN_SECRET_LENGTH = 6;

export class Redactor {
  readonly #secrets = new Set<string>();
  #pattern: RegExp | null = null;

  register(value: string | null | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    // Encoded forms travel too: URL-encoded bodies, JSON-escaped strings, basic-auth base64.
    for (const form of [encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) {
      if (form !== value && form.length >= MIN_SECRET_LENGTH) this.#secrets.add(form);
    }
    this.#pattern = null;
  }

  get size(): number {
    return this.#secrets.size;
  }

  redact(text: string): string {
    if (this.#secrets.size === 0 || !text) return text;
    this.#pattern ??= new RegExp(
      [...this.#secrets]
        .sort((a, b) => b.length - a.length)
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, REDACTED);
  }
}

/** The process-wide registry. */
export const redactor = new Redactor();
