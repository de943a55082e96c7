// Text from providers (account labels, display names, error descriptions, device codes) on its way
// to a terminal: a provider could send ANSI escapes that clear the screen, rewrite what was
// printed, or set the clipboard (OSC 52), or bidi controls that reorder a line. They are removed;
// what a person reads is what was sent, less what a terminal would act on.

/** ESC sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte escapes; and the 8-bit CSI/OSC of C1. */
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[P^_X][^\x1b]*(?:\x1b\\)?|\x1b[ -~]?|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?/g;
/** C0 (but tab and newline), DEL, C1, and the Unicode bidi and line controls a terminal would act on. */
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text for a terminal: escape sequences and control characters removed; tabs and newlines kept (our own messages use them). */
export function terminalText(text: string): string {
  return text.replace(ESCAPES, '').replace(CONTROLS, '');
}

/** One line of provider text (a label, a name, a description): as terminalText, with tabs and newlines as spaces. */
export function displayText(text: string): string {
  return terminalText(text).replace(/[\t\n]+/g, ' ');
}

/**
 * JSON text that is safe on a terminal and means the same: JSON.stringify escapes C0, but leaves
 * DEL, C1 (0x9B is a CSI to some terminals) and the bidi controls as they are; they become \u escapes.
 */
export function terminalJson(json: string): string {
  return json.replace(/[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line as a log keeps it: at most maxChars characters, the cut said with the original length. */
export function boundedLine(line: string, maxChars = 1000): string {
  return line.length <= maxChars ? line : `${line.slice(0, maxChars)}… (${line.length} characters)`;
}
