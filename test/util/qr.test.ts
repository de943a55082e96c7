// The QR codes a user scans: both renderings are read back into a module matrix and decoded with
// a small ISO/IEC 18004 reader (byte mode, versions 1–6, level M), so the test needs no decoder.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { qrSvg, qrTerminal } from '../../src/util/qr.ts';

type Matrix = boolean[][]; // [row][col], true = dark

const SHORT = 'https://example.com/device';
const LONG = 'https://auth.example.com/activate?user_code=WDJB-MJHT&client=authsome-cli-0123456789';
const UNICODE = 'https://example.com/ä?q=✓';

// --- reading the renderings back ---------------------------------------------------------------

/** Terminal text → module matrix without the quiet zone; light modules are the blocks. */
function matrixFromTerminal(text: string, quiet = 2): Matrix {
  const rows: boolean[][] = [];
  for (const line of text.split('\n')) {
    const chars = [...line];
    rows.push(chars.map((c) => !(c === '█' || c === '▀'))); // top half light?
    rows.push(chars.map((c) => !(c === '█' || c === '▄')));
  }
  const size = [...text.split('\n')[0]!].length - 2 * quiet;
  return rows.slice(quiet, quiet + size).map((row) => row.slice(quiet, quiet + size));
}

/** SVG path runs `Mx,yhWv1h-Wz` → module matrix without the 4-module quiet zone. */
function matrixFromSvg(svg: string): Matrix {
  const viewBox = /viewBox="0 0 (\d+) \1"/.exec(svg);
  assert.ok(viewBox, 'square viewBox');
  const size = Number(viewBox[1]) - 8;
  const matrix: Matrix = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  const d = /<path fill="#000" d="([^"]*)"/.exec(svg)![1]!;
  for (const [, x, y, w] of d.matchAll(/M(\d+),(\d+)h(\d+)v1h-\3z/g)) {
    for (let i = 0; i < Number(w); i += 1) matrix[Number(y) - 4]![Number(x) - 4 + i] = true;
  }
  return matrix;
}

// --- a minimal reader ---------------------------------------------------------------------------

const ALIGNMENT: Record<number, number[]> = { 2: [6, 18], 3: [6, 22], 4: [6, 26], 5: [6, 30], 6: [6, 34] };
/** Level M data codewords per block and block count (all blocks equal for versions 1–6). */
const BLOCKS_M: Record<number, [number, number]> = { 1: [16, 1], 2: [28, 1], 3: [44, 1], 4: [32, 2], 5: [43, 2], 6: [27, 4] };
const MASKS: ((r: number, c: number) => boolean)[] = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (_, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r * c) % 3) + ((r + c) % 2)) % 2 === 0,
];

/** Format information from column 8 (ISO 18004 §7.9): [error correction bits, mask]. */
function readFormat(m: Matrix): [number, number] {
  const n = m.length;
  let bits = 0;
  for (let i = 0; i < 15; i += 1) {
    const row = i < 6 ? i : i < 8 ? i + 1 : n - 15 + i;
    if (m[row]![8]) bits |= 1 << i;
  }
  bits ^= 0x5412;
  return [bits >> 13, (bits >> 10) & 7];
}

function isFunctionModule(n: number, version: number, r: number, c: number): boolean {
  if ((r < 9 && c < 9) || (r < 9 && c >= n - 8) || (r >= n - 8 && c < 9) || r === 6 || c === 6) return true;
  const centres = ALIGNMENT[version] ?? [];
  for (const ar of centres) {
    for (const ac of centres) {
      if ((ar === 6 && ac === 6) || (ar === 6 && ac === n - 7) || (ar === n - 7 && ac === 6)) continue;
      if (Math.abs(r - ar) <= 2 && Math.abs(c - ac) <= 2) return true;
    }
  }
  return false;
}

/** Decodes a byte-mode symbol of version 1–6, level M, reading the data codewords as they are. */
function decode(m: Matrix): { text: string; version: number; level: number } {
  const n = m.length;
  const version = (n - 17) / 4;
  const [level, mask] = readFormat(m);
  const bits: number[] = [];
  let upward = true;
  for (let right = n - 1; right > 0; right -= 2) {
    if (right === 6) right = 5; // the vertical timing pattern takes a whole column
    for (let i = 0; i < n; i += 1) {
      const r = upward ? n - 1 - i : i;
      for (const c of [right, right - 1]) {
        if (!isFunctionModule(n, version, r, c)) bits.push(Number(m[r]![c]! !== MASKS[mask]!(r, c)));
      }
    }
    upward = !upward;
  }
  const codewords: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) codewords.push(parseInt(bits.slice(i, i + 8).join(''), 2));
  const [perBlock, blocks] = BLOCKS_M[version]!;
  const data: number[] = [];
  for (let b = 0; b < blocks; b += 1) for (let i = 0; i < perBlock; i += 1) data.push(codewords[i * blocks + b]!);
  const stream = data.map((byte) => byte.toString(2).padStart(8, '0')).join('');
  assert.equal(stream.slice(0, 4), '0100', 'byte mode');
  const length = parseInt(stream.slice(4, 12), 2);
  const bytes = Array.from({ length }, (_, i) => parseInt(stream.slice(12 + 8 * i, 20 + 8 * i), 2));
  return { text: Buffer.from(bytes).toString('utf8'), version, level };
}

// --- tests --------------------------------------------------------------------------------------

describe('qrTerminal', () => {
  test('two module rows per line and a 2-module quiet zone on every side', async () => {
    const text = await qrTerminal(SHORT);
    const lines = text.split('\n');
    const modules = 25; // 26 bytes at level M need version 2
    assert.equal(lines.length, Math.ceil((modules + 4) / 2));
    for (const line of lines) assert.equal([...line].length, modules + 4);
    assert.match(text, /^[█▀▄ \n]+$/);
    assert.equal(lines[0], '█'.repeat(modules + 4), 'top quiet zone drawn light');
    assert.equal(lines.at(-1), '▀'.repeat(modules + 4), 'bottom quiet zone ends on a half line');
    for (const line of lines.slice(1, -1)) assert.match(line, /^██.*██$/u);
  });

  for (const input of [SHORT, LONG, UNICODE]) {
    test(`scans back to the text: ${input}`, async () => {
      const decoded = decode(matrixFromTerminal(await qrTerminal(input)));
      assert.equal(decoded.text, input);
      assert.equal(decoded.level, 0, 'error correction M');
    });
  }
});

describe('qrSvg', () => {
  test('one background rect and one path for the dark modules, crisp, 4-module quiet zone', async () => {
    const svg = await qrSvg(SHORT);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 33 33" shape-rendering="crispEdges"/);
    assert.equal(svg.match(/<rect /g)?.length, 1);
    assert.equal(svg.match(/<path /g)?.length, 1);
    assert.match(svg, /<rect width="33" height="33" fill="#fff"\/><path fill="#000" d="M4,4h7v1h-7z/);
    assert.doesNotMatch(svg, /<script|href|url\(|style/i);
    assert.match(svg, /role="img" aria-label="QR code for https:\/\/example\.com\/device"/);
  });

  test('escapes the label', async () => {
    const svg = await qrSvg(`a"b<c>d&e'f`);
    assert.match(svg, /aria-label="QR code for a&#34;b&#60;c&#62;d&#38;e&#39;f"/);
    assert.doesNotMatch(svg.replace(/aria-label="[^"]*"/, ''), /[<>]c|"b/);
  });

  for (const input of [SHORT, LONG, UNICODE]) {
    test(`scans back to the text: ${input}`, async () => {
      const decoded = decode(matrixFromSvg(await qrSvg(input)));
      assert.equal(decoded.text, input);
      assert.equal(decoded.level, 0, 'error correction M');
    });
  }

  test('the smallest version that fits (type number 0)', async () => {
    assert.match(await qrSvg('hi'), /viewBox="0 0 29 29"/); // version 1: 21 modules + 8
  });

  test('text too long for any QR code fails with a clear error', async () => {
    await assert.rejects(qrSvg('x'.repeat(3000)), { code: 'internal', message: /Cannot draw a QR code for 3000 bytes/ });
  });
});
