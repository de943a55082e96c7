// The debug log. Two levels: `debug` is detail for --verbose on stderr only (what was read, which
// key); `record` is what happened on the network and to credentials — OAuth requests and answers,
// refresh attempts — and also goes to <home>/logs/authsome.log, rotated by size, so a failure at
// 3 a.m. can be read the next morning. Every line passes through the one redactor.
import { displayText, terminalJson } from '../util/index.ts';
import { redactor } from './redactor.ts';
import { appendRotating } from './rotating-file.ts';

export type DebugSink = (line: string) => void;

export class DebugLog {
  constructor(
    private readonly stderr: DebugSink | null,
    private readonly file: string | null = null,
  ) {}

  get enabled(): boolean {
    return this.stderr !== null;
  }

  /** Detail for --verbose only. */
  debug(message: string, fields?: Record<string, unknown>): void {
    if (!this.stderr) return;
    this.stderr(format(message, fields));
  }

  /** Network and credential events: the log file always, stderr under --verbose. */
  record(message: string, fields?: Record<string, unknown>): void {
    const line = format(message, fields);
    this.stderr?.(line);
    // One backup (authsome.log.1) is kept beside the live file, each at most 1 MiB.
    if (this.file) appendRotating(this.file, `${new Date().toISOString()} pid=${process.pid} ${line}\n`);
  }
}

/**
 * One line per entry, with nothing a terminal would act on: messages and answers quote providers
 * (a token_type, an error page), so escape sequences and control characters go from the text and
 * stay \u escapes in the JSON, and a provider's newline cannot start a line of its own in the file.
 */
function format(message: string, fields?: Record<string, unknown>): string {
  return redactor.redact(`[authsome] ${displayText(message)}${fields ? ' ' + terminalJson(JSON.stringify(fields)) : ''}`);
}

export const silentLog = new DebugLog(null);

export function debugLog(options: { verbose: boolean; file: string | null }): DebugLog {
  return new DebugLog(options.verbose ? (line) => process.stderr.write(line + '\n') : null, options.file);
}
