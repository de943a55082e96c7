// How the CLI speaks: results on stdout (JSON with --json, text otherwise), warnings and errors
// on stderr, and the exit code from the error table. Every line passes through the redactor, and
// nothing a terminal would act on (escape sequences, control characters) gets through: JSON keeps
// such characters as \u escapes, text loses them (a provider's label or description can carry them).
import { redactor } from '../audit/index.ts';
import { terminalJson, terminalText, toAuthsomeError, toContractTimestamp } from '../util/index.ts';

/** Fields the JSON contract reads as timestamps: `*_at` and `timestamp`. */
const TIMESTAMP_FIELD = /(?:^|_)at$|^timestamp$/;

/**
 * A value as the JSON contract prints it (README, "JSON output"): every timestamp field in the
 * one format, whichever form it was kept in (records, the audit log, the daemon's clock). A
 * replacer rather than a copy of the value: `list --json` of 10,000 connections spent 60 ms
 * rebuilding objects (issue 18). JSON.stringify has called toJSON (a Date, an error) by then.
 */
export function contractJsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, contractReplacer, indent);
}

function contractReplacer(this: unknown, key: string, value: unknown): unknown {
  // Only strings and arrays need a look (called for every value: 100,000 times in a large list).
  if (typeof value !== 'string' && !Array.isArray(value)) return value;
  // An array's items carry the key of the field that holds the array.
  const field = Array.isArray(this) ? arrayFields.get(this) ?? '' : key;
  if (typeof value !== 'string') {
    arrayFields.set(value as unknown[], field);
    return value;
  }
  return TIMESTAMP_FIELD.test(field) ? toContractTimestamp(value) : value;
}

const arrayFields = new WeakMap<unknown[], string>();

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  color: boolean;
}

export class Output {
  constructor(readonly options: OutputOptions) {}

  get json(): boolean {
    return this.options.json;
  }

  /**
   * Prints a result: `value` as JSON with --json, else the human text (if any). Redacted like
   * every other output (a provider's words can quote a secret), unless `exact`: only for the
   * values `--show-secret` asked for.
   */
  result(value: unknown, human?: string | (() => string), options: { exact?: boolean } = {}): void {
    const shown = (text: string) => (options.exact ? text : redactor.redact(text));
    if (this.options.json) {
      process.stdout.write(terminalJson(shown(contractJsonText(value, 2))) + '\n');
      return;
    }
    const text = typeof human === 'function' ? human() : human;
    if (text !== undefined && text !== '') process.stdout.write(terminalText(shown(text.endsWith('\n') ? text : text + '\n')));
  }

  /**
   * Prints a list of records (the audit log): with --json one compact JSON object per line (JSON
   * Lines), so scripts read it line by line (`for line in sys.stdin: json.loads(line)`), as the
   * audit log itself is stored; an empty list prints nothing. Else the human text, as result().
   */
  lines(values: readonly unknown[], human?: string | (() => string)): void {
    if (this.options.json) {
      process.stdout.write(values.map((value) => terminalJson(redactor.redact(contractJsonText(value))) + '\n').join(''));
      return;
    }
    this.result(values, human);
  }

  /** A bare value for scripts (`--field status`), redacted like every other output. */
  value(text: string): void {
    process.stdout.write(terminalText(redactor.redact(text)) + '\n');
  }

  /** A bare value asked for as a secret (`--field x --show-secret`, `export`): printed exactly, never redacted. */
  raw(text: string): void {
    process.stdout.write(text + '\n');
  }

  /** Progress and confirmations for people; silenced by --quiet and --json. */
  info(text: string): void {
    if (!this.options.quiet && !this.options.json) process.stderr.write(terminalText(redactor.redact(text)) + '\n');
  }

  /** What a person must see to go on (a login URL, a device code): stderr even with --json or --quiet. */
  notice(text: string): void {
    process.stderr.write(terminalText(redactor.redact(text)) + '\n');
  }

  /** Rewrites the current stderr line (a spinner); only ever called on a TTY. */
  status(text: string): void {
    process.stderr.write(`\r\x1b[2K${terminalText(redactor.redact(text))}`);
  }

  get interactive(): boolean {
    return Boolean(process.stderr.isTTY) && !this.options.json;
  }

  warn(text: string): void {
    if (!this.options.quiet) process.stderr.write(`${this.#paint('Warning:', 33)} ${terminalText(redactor.redact(text))}\n`);
  }

  /**
   * Reports a failure and returns the exit code. `context` adds fields to the --json envelope
   * (what a script needs besides the error, e.g. the connection's status after a failed refresh).
   */
  error(value: unknown, context: Record<string, unknown> = {}): number {
    const error = toAuthsomeError(value);
    if (this.options.json) {
      process.stdout.write(terminalJson(redactor.redact(contractJsonText({ ...error.toJSON(), ...context }, 2))) + '\n');
    } else {
      const hint = error.hint ? `\n${error.hint}` : '';
      process.stderr.write(`${this.#paint('Error:', 31)} ${terminalText(redactor.redact(`${error.message}${hint}`))}\n`);
    }
    return error.exitCode;
  }

  bold(text: string): string {
    return this.#paint(text, 1);
  }

  #paint(text: string, code: number): string {
    return this.options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
}

/** Left-aligned columns for human tables. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
