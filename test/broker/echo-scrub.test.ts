// The echo scrubber on its own, at every split point: a credential cut anywhere between two chunks
// (or fed a byte at a time) is still replaced, and a chunk that ends with anything but the start of
// a credential is passed on at once — what keeps server-sent events streaming.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EchoScrubber, echoNeedles, scrubBytes, secretForms } from '../../src/broker/echo-scrub.ts';

const KEY = 'sk-abcabcabd-0123456789';
const injection = { headers: { 'X-Api-Key': KEY }, query: {}, credential: KEY, secrets: [KEY], renewAt: null, obtainedAt: null, oauth: false };
const forms = secretForms(injection);
const TEXT = `{"headers":{"x-api-key":"${KEY}","n":"sk-abcab"},"again":"${KEY}${KEY}"}`;
const EXPECTED = TEXT.split(KEY).join('authsome-proxy-managed');

/** Everything the scrubber passes on for these chunks, read as soon as each is written. */
function feed(chunks: string[]): { out: string; afterEach: string[] } {
  const scrubber = new EchoScrubber(forms);
  const afterEach: string[] = [];
  let out = '';
  for (const chunk of chunks) {
    scrubber.write(Buffer.from(chunk));
    const now = (scrubber.read() as Buffer | null)?.toString() ?? '';
    afterEach.push(now);
    out += now;
  }
  scrubber.end();
  for (let chunk: Buffer | null; (chunk = scrubber.read() as Buffer | null);) out += chunk.toString();
  return { out, afterEach };
}

describe('the echo scrubber', () => {
  it('replaces a credential split at any point between two chunks', () => {
    for (let at = 0; at <= TEXT.length; at++) assert.equal(feed([TEXT.slice(0, at), TEXT.slice(at)]).out, EXPECTED, `split at ${at}`);
  });

  it('replaces it fed one byte at a time, self-overlapping prefixes included ("abcabd" after "abcab")', () => {
    assert.equal(feed([...TEXT]).out, EXPECTED);
  });

  it('holds back nothing when a chunk ends with something that cannot begin the credential', () => {
    const { afterEach } = feed(['data: one\n\n', `data: ${KEY}\n\n`, 'data: sk-ab', 'c\n\n']);
    assert.deepEqual(afterEach, ['data: one\n\n', 'data: authsome-proxy-managed\n\n', 'data: ', 'sk-abc\n\n']);
  });

  it('knows the forms a server quotes a credential in', () => {
    const odd = 'a"b\\c/d<e&f+g';
    const all = secretForms({ ...injection, headers: { Authorization: `Bearer ${odd}` }, credential: odd, secrets: [odd] });
    for (const form of [odd, 'a\\"b\\\\c/d<e&f+g', 'a\\"b\\\\c\\/d<e&f+g', encodeURIComponent(odd), 'a&quot;b\\c/d&lt;e&amp;f+g']) assert.ok(all.includes(form), form);
  });

  it('looks for secrets only: a part that is not secret (an account email) stays readable, a Basic pair holding a secret does not', () => {
    const email = 'ops@example.test';
    const secret = 'cf-global-key-0123456789';
    const basic = Buffer.from(`AC0123456789:${secret}`).toString('base64');
    const all = secretForms({ ...injection, headers: { 'X-Auth-Email': email, 'X-Auth-Key': secret, Authorization: `Basic ${basic}` }, credential: secret, secrets: [secret] });
    assert.ok(all.includes(secret) && all.includes(basic));
    assert.ok(!all.some((form) => form.includes('ops@') || form.includes('ops%40')), 'the email would be hidden from the child');
  });

  it('replaces every form in a body held whole, and hands back the very same buffer when there is none', () => {
    const needles = echoNeedles(forms);
    const whole = scrubBytes(Buffer.from(TEXT), needles);
    assert.equal(whole.body.toString(), EXPECTED);
    assert.equal(whole.replaced, 3);
    const clean = Buffer.from('{"ok":true,"n":"sk-abcab"}');
    const untouched = scrubBytes(clean, needles);
    assert.equal(untouched.body, clean);
    assert.equal(untouched.replaced, 0);
  });
});
