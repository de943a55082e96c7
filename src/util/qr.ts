// QR codes for the device flow: an inline SVG for the daemon's page, half blocks for the terminal.
import { AuthsomeError } from './errors.ts';

/** The part of qrcode-generator's QRCode we read: the finished module matrix. */
interface QrMatrix {
  getModuleCount(): number;
  isDark(row: number, col: number): boolean;
}

/** ISO/IEC 18004 asks for 4 light modules around the symbol. */
const SVG_QUIET_ZONE = 4;
/** Terminal lines are scarce; 2 modules scan fine with phone cameras and save 2 lines. */
const TERMINAL_QUIET_ZONE = 2;

/** Encodes `text` as UTF-8 bytes, error correction M, smallest version that fits. */
async function encodeQr(text: string): Promise<QrMatrix> {
  // Loaded on first use: the CLI imports util at start and most commands never draw a QR code.
  const { default: qrcode } = await import('qrcode-generator');
  const code = qrcode(0, 'M');
  // qrcode-generator keeps only the low byte of each UTF-16 unit in byte mode, which garbles
  // anything beyond Latin-1; handing it the UTF-8 bytes one per char makes that a no-op.
  code.addData(Buffer.from(text, 'utf8').toString('latin1'), 'Byte');
  try {
    code.make();
  } catch (cause) {
    // The library throws a bare string ("code length overflow …") when the text does not fit.
    throw new AuthsomeError('internal', `Cannot draw a QR code for ${Buffer.byteLength(text)} bytes of text: ${String(cause)}`, { cause });
  }
  return code;
}

/** util cannot import the daemon's escapeHtml; the same five characters, for one attribute. */
function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * An inline `<svg>` (black on white, 4-module quiet zone) safe to place in HTML: no external
 * references, no script, the text appears only escaped in `aria-label`. One `<path>` draws every
 * dark module, one horizontal run per `M…z`, so the markup stays small.
 */
export async function qrSvg(text: string): Promise<string> {
  const code = await encodeQr(text);
  const count = code.getModuleCount();
  const size = count + 2 * SVG_QUIET_ZONE;
  const runs: string[] = [];
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; ) {
      if (!code.isDark(row, col)) {
        col += 1;
        continue;
      }
      const start = col;
      while (col < count && code.isDark(row, col)) col += 1;
      const width = col - start;
      runs.push(`M${start + SVG_QUIET_ZONE},${row + SVG_QUIET_ZONE}h${width}v1h-${width}z`);
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"` +
    ` role="img" aria-label="QR code for ${escapeAttribute(text)}">` +
    `<rect width="${size}" height="${size}" fill="#fff"/>` +
    `<path fill="#000" d="${runs.join('')}"/>` +
    `</svg>`
  );
}

/**
 * The QR code as text, two module rows per line with Unicode half blocks. Inverted: a dark
 * terminal's background stands in for the dark modules and the light modules (quiet zone
 * included) are drawn as blocks, so the code reads as dark-on-light to a phone camera.
 */
export async function qrTerminal(text: string): Promise<string> {
  const code = await encodeQr(text);
  const count = code.getModuleCount();
  const first = -TERMINAL_QUIET_ZONE;
  const end = count + TERMINAL_QUIET_ZONE;
  // Outside the matrix is quiet zone (light); past the last row is nothing (terminal background).
  const isLight = (row: number, col: number): boolean => {
    if (row >= end) return false;
    if (row < 0 || col < 0 || row >= count || col >= count) return true;
    return !code.isDark(row, col);
  };
  const lines: string[] = [];
  for (let row = first; row < end; row += 2) {
    let line = '';
    for (let col = first; col < end; col += 1) {
      const top = isLight(row, col);
      const bottom = isLight(row + 1, col);
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n');
}
