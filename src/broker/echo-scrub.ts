// Finding an injected credential in what the upstream answers, so the caller cannot read it back
// (issue 14, item 8): the forms a credential takes when a server quotes it, a replace for header
// values and a streaming Transform for bodies. The stream keeps back only the bytes that could be
// the start of a credential (at most its length − 1), so server-sent events and downloads stream.
// Run's proxy and the MCP server's requests both answer with it.
import { Transform, type TransformCallback } from 'node:stream';
import type { Injection } from './proxy-support.ts';

/** What stands in for a credential: in the child's key variables under `run`, and in place of an echoed one. */
export const PLACEHOLDER = 'authsome-proxy-managed';

const PLACEHOLDER_BYTES = Buffer.from(PLACEHOLDER);
/** Values shorter than this are not looked for: too likely to be ordinary text. Credentials are longer. */
const MIN_SECRET_LENGTH = 8;

/**
 * Every string a request's injection put on the wire that carries a secret and must not come back:
 * each secret (the credential, a secret part), each query value, and each header value's token
 * (after its scheme: "Bearer x" → "x", "Basic b64" → "b64"; a bare value whole) when it holds a
 * secret — a Basic pair holds one once decoded; a header that carries only an account's email or ID
 * does not, and is left readable. Each as written and as a server would quote it in JSON (`\"`,
 * `\\`, `\/`), in a URL (percent-encoded) or in HTML (entities). Longest first.
 */
export function secretForms(injection: Injection): string[] {
  const holdsSecret = (text: string) => injection.secrets.some((secret) => text.includes(secret));
  const values = new Set<string>([...injection.secrets, ...Object.values(injection.query)]);
  for (const value of Object.values(injection.headers)) {
    const match = /^([A-Za-z][\w.+-]*)\s+(\S+)$/.exec(value);
    const token = match?.[2] ?? value;
    const decoded = match?.[1]!.toLowerCase() === 'basic' ? Buffer.from(token, 'base64').toString('latin1') : '';
    if (holdsSecret(token) || holdsSecret(decoded)) values.add(token);
  }
  const forms = new Set<string>();
  for (const value of values) {
    const json = JSON.stringify(value).slice(1, -1);
    for (const form of [value, json, json.replace(/\//g, '\\/'), encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2), escapeHtml(value)]) {
      if (form.length >= MIN_SECRET_LENGTH) forms.add(form);
    }
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** A header value with every form of the secrets replaced by the placeholder, and how many were. */
export function scrubText(text: string, forms: string[]): { text: string; replaced: number } {
  let replaced = 0;
  for (const form of forms) {
    if (!text.includes(form)) continue;
    const parts = text.split(form);
    replaced += parts.length - 1;
    text = parts.join(PLACEHOLDER);
  }
  return { text, replaced };
}

interface Needle {
  bytes: Buffer;
  /** KMP failure function: the longest proper prefix of bytes[0..i] that is also its suffix. */
  failure: Int32Array;
}

/** A credential's forms encoded once, for every response that may quote it (see echoNeedles). */
export type EchoNeedles = readonly Needle[];

const EMPTY = Buffer.alloc(0);

/** The forms as byte needles: built once per credential, not per response or per chunk. */
export function echoNeedles(forms: string[]): EchoNeedles {
  return forms.map((form) => {
    const bytes = Buffer.from(form);
    return { bytes, failure: failureOf(bytes) };
  });
}

/**
 * A body held whole (small enough to keep in memory) with every form replaced, and how many were;
 * the same bytes, unallocated, when it quotes none — the common case.
 */
export function scrubBytes(data: Buffer, needles: EchoNeedles): { body: Buffer; replaced: number } {
  const out = replaceNeedles(data, needles, 0);
  return { body: out.pieces ? Buffer.concat(out.pieces) : data, replaced: out.replaced };
}

/**
 * Every form in data[from..] replaced, the earliest match first and the longest on a tie (forms
 * are sorted longest first). `pieces` is null when nothing matched; `end` is where the unmatched
 * rest begins.
 */
function replaceNeedles(data: Buffer, needles: EchoNeedles, from: number): { pieces: Buffer[] | null; end: number; replaced: number } {
  let pieces: Buffer[] | null = null;
  let pos = from;
  let replaced = 0;
  let next: number[] | null = null;
  for (let i = 0; i < needles.length; i++) {
    const at = data.indexOf(needles[i]!.bytes, pos);
    if (at === -1) continue;
    next ??= new Array<number>(needles.length).fill(-1);
    next[i] = at;
  }
  if (!next) return { pieces: null, end: pos, replaced: 0 };
  for (;;) {
    let best = -1;
    for (let i = 0; i < next.length; i++) {
      if (next[i]! !== -1 && next[i]! < pos) next[i] = data.indexOf(needles[i]!.bytes, pos);
      if (next[i]! !== -1 && (best === -1 || next[i]! < next[best]!)) best = i;
    }
    if (best === -1) break;
    (pieces ??= []).push(data.subarray(pos, next[best]!), PLACEHOLDER_BYTES);
    replaced++;
    pos = next[best]! + needles[best]!.bytes.length;
  }
  pieces?.push(data.subarray(pos));
  return { pieces, end: pos, replaced };
}

/**
 * Replaces the secrets' forms in a byte stream with the placeholder. A form split across chunks is
 * found: the end of a chunk that could begin one is held back until the next chunk (or the end)
 * says whether it does. Nothing else is held, so an event that ends its chunk passes at once.
 */
export class EchoScrubber extends Transform {
  readonly #needles: EchoNeedles;
  #carry: Buffer = EMPTY;
  replaced = 0;

  constructor(forms: string[] | EchoNeedles) {
    super();
    this.#needles = forms.length && typeof forms[0] === 'string' ? echoNeedles(forms as string[]) : (forms as EchoNeedles);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const data = this.#carry.length ? Buffer.concat([this.#carry, chunk]) : chunk;
    this.#emit(data, false);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#carry.length) this.#emit(this.#carry, true);
    this.#carry = EMPTY;
    done();
  }

  #emit(data: Buffer, final: boolean): void {
    const { pieces, end, replaced } = replaceNeedles(data, this.#needles, 0);
    this.replaced += replaced;
    let hold = 0;
    if (!final) for (const needle of this.#needles) hold = Math.max(hold, prefixAtEnd(data, end, needle));
    // The held end is copied (the chunk's memory is not kept alive); everything before it goes now.
    this.#carry = hold ? Buffer.from(data.subarray(data.length - hold)) : EMPTY;
    let out: Buffer;
    if (!pieces) out = hold ? data.subarray(0, data.length - hold) : data;
    else {
      if (hold) pieces[pieces.length - 1] = pieces[pieces.length - 1]!.subarray(0, pieces[pieces.length - 1]!.length - hold);
      out = Buffer.concat(pieces);
    }
    if (out.length) this.push(out);
  }
}

/**
 * The length of the longest end of data[from..] that is the start of the needle (shorter than the
 * needle: a whole one was replaced already). KMP over the last needle-length − 1 bytes: linear.
 */
function prefixAtEnd(data: Buffer, from: number, { bytes, failure }: Needle): number {
  let state = 0;
  for (let j = Math.max(from, data.length - bytes.length + 1); j < data.length; j++) {
    while (state > 0 && data[j] !== bytes[state]) state = failure[state - 1]!;
    if (data[j] === bytes[state]) state++;
    if (state === bytes.length) state = failure[state - 1]!;
  }
  return state;
}

function failureOf(bytes: Buffer): Int32Array {
  const failure = new Int32Array(bytes.length);
  let k = 0;
  for (let i = 1; i < bytes.length; i++) {
    while (k > 0 && bytes[i] !== bytes[k]) k = failure[k - 1]!;
    if (bytes[i] === bytes[k]) k++;
    failure[i] = k;
  }
  return failure;
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * A URL (absolute or relative) without the query parameters that carry an injected value: a
 * redirect that repeats the request's query must not hand the key to the child. The child (or
 * `authsome.fetch`) follows it, and the key is added again only where a route names the target. Other parameters keep their exact text.
 */
export function withoutInjectedQuery(url: string, injection: Injection): string {
  const injected = new Set(Object.values(injection.query));
  if (injected.size === 0) return url;
  const hash = url.indexOf('#');
  const beforeHash = hash === -1 ? url : url.slice(0, hash);
  const q = beforeHash.indexOf('?');
  if (q === -1) return url;
  const kept = beforeHash.slice(q + 1).split('&').filter((pair) => {
    const value = [...new URLSearchParams(pair).values()][0];
    return value === undefined || !injected.has(value);
  });
  return beforeHash.slice(0, q) + (kept.length ? `?${kept.join('&')}` : '') + (hash === -1 ? '' : url.slice(hash));
}
