// A Secret holds a credential value; every way of printing it prints a mask. reveal() is the
// only way out, and it is called in very few places (building a request, --show-secret).

const MASK = '****';
/** util.inspect's hook, by its registered symbol: importing node:util costs ~10 ms at CLI start. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** `gho_abc…` → `gho_****`: keep a vendor prefix (letters ending in `_` or `-`) when the rest is long. */
export function maskSecret(value: string | null | undefined): string | null {
  if (value == null) return null;
  const prefix = /^[A-Za-z]{1,6}[_-]/.exec(value)?.[0];
  if (prefix && value.length - prefix.length >= 8) return prefix + MASK;
  return MASK;
}

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get masked(): string {
    return maskSecret(this.#value) ?? MASK;
  }

  toString(): string {
    return this.masked;
  }

  toJSON(): string {
    return this.masked;
  }

  [INSPECT](): string {
    return `Secret(${this.masked})`;
  }
}
