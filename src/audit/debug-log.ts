// The debug log: what the process did, for --verbose on stderr. Every line is redacted.
import { redactor } from './redactor.ts';

export type DebugSink = (line: string) => void;

export class DebugLog {
  constructor(private readonly sink: DebugSink | null) {}

  get enabled(): boolean {
    return this.sink !== null;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    if (!this.sink) return;
    const suffix = fields ? ' ' + JSON.stringify(fields) : '';
    this.sink(redactor.redact(`[authsome] ${message}${suffix}`));
  }
}

export const silentLog = new DebugLog(null);

export function stderrDebugLog(): DebugLog {
  return new DebugLog((line) => process.stderr.write(line + '\n'));
}
