// What the child gets back from a request the proxy injected a credential into (issue 14, item 8):
// the injected query parameters stripped from Location and Content-Location, every form of the
// credential in a header value or a text body replaced by the placeholder. Text bodies are scanned
// whole, streaming; compressed ones are decoded to be scanned and reach the child decoded.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, constants as zlib } from 'node:zlib';
import { EchoScrubber, echoNeedles, scrubBytes, scrubText, secretForms, withoutInjectedQuery, type EchoNeedles, type Injection } from '../broker/index.ts';

/**
 * Media types a server quotes a request in: text/*, JSON, XML, JavaScript, forms, YAML, NDJSON (and
 * any +json / +xml). A body without a Content-Type is scanned too (clients sniff it as text).
 * Others — images, archives, application/octet-stream — pass unscanned.
 */
const TEXTUAL = /^\s*(?:text\/|application\/(?:json|xml|javascript|ecmascript|x-www-form-urlencoded|x-ndjson|ndjson|jsonl|x-yaml|yaml|graphql|problem\+json|[\w.-]+\+(?:json|xml))\b|multipart\/)/i;

/**
 * Content codings the proxy decodes to scan (RFC 9110 §8.4.1; "deflate" is the zlib format there).
 * Zstandard is not among them (Node 20's zlib has none), so it is taken out of the child's
 * Accept-Encoding on injected requests: a server that honours the header never sends it.
 */
const DECODERS: Record<string, () => Transform> = {
  gzip: () => createGunzip({ flush: zlib.Z_SYNC_FLUSH }),
  'x-gzip': () => createGunzip({ flush: zlib.Z_SYNC_FLUSH }),
  deflate: () => createInflate({ flush: zlib.Z_SYNC_FLUSH }),
  br: () => createBrotliDecompress({ flush: zlib.BROTLI_OPERATION_FLUSH }),
};

/**
 * A scanned body that declares a length up to this is kept whole, scanned in one piece and sent
 * with its new length in one write: most API answers are small JSON, and a Transform pipeline per
 * answer (and a chunked reframing) costs the proxy more than the request's own parsing. Larger or
 * unsized bodies stream through the scrubber, so downloads and server-sent events still flow.
 */
export const WHOLE_BODY_LIMIT = 256 * 1024;

export interface GuardedResponse {
  headers: OutgoingHttpHeaders;
  /** What the body passes through on its way to the child, in order; empty: passed as it is (or kept whole, below). */
  transforms: Transform[];
  /**
   * Set when the body is to be kept whole instead: its declared length, and the replacement to
   * apply to it (which also sets the Content-Length of `headers` to the result's length).
   */
  whole: { length: number; scrub(body: Buffer): Buffer } | null;
  /** Copies of the credential replaced so far, in the headers and the body. */
  replaced(): number;
  /** Why a body with a credential in it could still reach the child unscanned; null when scanned or bodiless. */
  unscanned: string | null;
}

/** The child's Accept-Encoding with only codings the proxy can decode (null: send none, identity). */
export function decodableAcceptEncoding(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  const kept = (Array.isArray(value) ? value.join(',') : value).split(',').map((part) => part.trim())
    .filter((part) => Object.hasOwn(DECODERS, part.split(';')[0]!.trim().toLowerCase()) || /^identity\b/i.test(part));
  return kept.length ? kept.join(', ') : null;
}

export function guardResponse(status: number, upstreamHeaders: IncomingHttpHeaders, injection: Injection, method: string | undefined): GuardedResponse {
  const { forms, needles } = formsOf(injection);
  let inHeaders = 0;
  let headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstreamHeaders)) {
    if (value === undefined) continue;
    const scrub = (text: string) => {
      const out = scrubText(name === 'location' || name === 'content-location' ? withoutInjectedQuery(text, injection) : text, forms);
      inHeaders += out.replaced;
      return out.text;
    };
    headers[name] = Array.isArray(value) ? value.map(scrub) : scrub(value);
  }
  let inWholeBody = 0;
  const guarded = (transforms: Transform[], unscanned: string | null, whole: GuardedResponse['whole'] = null): GuardedResponse => ({
    headers, transforms, unscanned, whole,
    replaced: () => inHeaders + inWholeBody + transforms.reduce((n, t) => n + (t instanceof EchoScrubber ? t.replaced : 0), 0),
  });
  const bodiless = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  const type = headers['content-type'];
  if (bodiless || (type !== undefined && !TEXTUAL.test(String(type)))) return guarded([], null);
  const encoding = headers['content-encoding'];
  const codings = encoding === undefined ? [] : String(encoding).split(',').map((c) => c.trim().toLowerCase()).filter((c) => c && c !== 'identity');
  const unknown = codings.find((c) => !Object.hasOwn(DECODERS, c));
  if (unknown) return guarded([], `its content coding "${unknown}" cannot be decoded`);
  const declared = codings.length === 0 && typeof headers['content-length'] === 'string' && /^\d{1,9}$/.test(headers['content-length'])
    ? Number(headers['content-length']) : -1;
  // The body changes length (the placeholder, the decoding): sent with its new length when kept
  // whole, otherwise framed anew by Node, chunked.
  // A copy without them rather than `delete`s, which would turn the object V8 walks for every
  // answer's head into a slow dictionary.
  headers = withoutHeaders(headers, codings.length ? REFRAMED_CODED : REFRAMED);
  if (declared >= 0 && declared <= WHOLE_BODY_LIMIT) {
    return guarded([], null, {
      length: declared,
      scrub: (body) => {
        const out = scrubBytes(body, needles);
        inWholeBody += out.replaced;
        headers['content-length'] = String(out.body.length);
        return out.body;
      },
    });
  }
  // Codings are listed in the order they were applied (RFC 9110 §8.4): undone last to first.
  const decoders = codings.reverse().map((coding) => DECODERS[coding]!());
  return guarded([...decoders, new EchoScrubber(needles)], null);
}

/** What a changed body no longer matches: its length, framing and digests (and, once decoded, its coding). */
const REFRAMED = new Set(['content-length', 'transfer-encoding', 'content-md5', 'digest', 'repr-digest', 'content-digest']);
const REFRAMED_CODED = new Set([...REFRAMED, 'content-encoding']);

function withoutHeaders(headers: OutgoingHttpHeaders, dropped: Set<string>): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const name in headers) if (!dropped.has(name)) kept[name] = headers[name];
  return kept;
}

/** A body kept whole (a refused upgrade's answer): the same replacement, without decoding. */
export function scrubBody(body: Buffer, injection: Injection): { body: Buffer; replaced: number } {
  return scrubBytes(body, formsOf(injection).needles);
}

/** Header names and values as they arrived, with the credential's forms replaced in the values. */
export function scrubRawHeaders(raw: string[], injection: Injection): { raw: string[]; replaced: number } {
  const { forms } = formsOf(injection);
  let replaced = 0;
  const out = raw.map((item, i) => {
    if (i % 2 === 0) return item;
    const name = raw[i - 1]!.toLowerCase();
    const scrubbed = scrubText(name === 'location' || name === 'content-location' ? withoutInjectedQuery(item, injection) : item, forms);
    replaced += scrubbed.replaced;
    return scrubbed.text;
  });
  return { raw: out, replaced };
}

/** An injection is one object per credential (CredentialCache): its forms and their bytes are worked out once, not per response. */
const FORMS = new WeakMap<Injection, { forms: string[]; needles: EchoNeedles }>();
function formsOf(injection: Injection): { forms: string[]; needles: EchoNeedles } {
  let entry = FORMS.get(injection);
  if (!entry) {
    const forms = secretForms(injection);
    FORMS.set(injection, (entry = { forms, needles: echoNeedles(forms) }));
  }
  return entry;
}
