// The one redaction registry: every registered secret is replaced wherever it appears, in the
// encoded forms it travels in too, and short values that would mangle ordinary text are ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redactor } from '../../src/audit/index.ts';

test('replaces registered secrets anywhere in a line, longest first', () => {
  const redactor = new Redactor();
  redactor.register('gho_secret_token_1');
  redactor.register('gho_secret_token_12345');
  assert.equal(redactor.redact('a=gho_secret_token_12345 b=gho_secret_token_1.'), 'a=[REDACTED] b=[REDACTED].');
});

test('covers URL-encoded and JSON-escaped forms', () => {
  const redactor = new Redactor();
  redactor.register('pa ss/"word"+1');
  assert.equal(redactor.redact(`body=${encodeURIComponent('pa ss/"word"+1')}`), 'body=[REDACTED]');
  assert.equal(redactor.redact(JSON.stringify({ p: 'pa ss/"word"+1' })), '{"p":"[REDACTED]"}');
});

test('ignores values too short to replace safely, and regex metacharacters are literal', () => {
  const redactor = new Redactor();
  redactor.register('abc');
  redactor.register('a.b*c+d');
  assert.equal(redactor.redact('abc aXbbc+d a.b*c+d'), 'abc aXbbc+d [REDACTED]');
});

test('a 64 KiB secret (an older version stored one) is redacted, and redacting never throws', () => {
  const redactor = new Redactor();
  const huge = 'k'.repeat(65536);
  redactor.register(huge);
  redactor.register('sk-ordinary-secret-1');
  // One alternation of every secret outgrew V8's limit: `Regular expression too large` broke every command.
  assert.equal(redactor.redact(`a ${huge} b sk-ordinary-secret-1`), 'a [REDACTED] b [REDACTED]');
});

test('overlapping secrets are covered whole: no piece of either is left', () => {
  for (const count of [2, 100]) {
    const redactor = new Redactor();
    redactor.register('ABCDEFG-first');
    redactor.register('first-HIJKLMNOP');
    // Beyond a few dozen secrets the text is scanned once instead of searched per secret: same answer.
    for (let i = 2; i < count; i++) redactor.register(`filler-secret-${i}`);
    assert.equal(redactor.redact('x ABCDEFG-first-HIJKLMNOP y'), 'x [REDACTED] y', `${count} secrets`);
    assert.equal(redactor.redact('ABCDEFG-firstfirst-HIJKLMNOP'), '[REDACTED][REDACTED]', `${count} secrets`);
  }
});

test('10,000 registered secrets (a list of 10,000 connections) are each found, in every encoded form', () => {
  const redactor = new Redactor();
  const secrets = Array.from({ length: 10_000 }, (_, i) => `tok/${i}+${'z'.repeat(i % 40)}`);
  for (const secret of secrets) redactor.register(secret);
  const text = secrets.map((s, i) => (i % 3 === 0 ? `a=${s};` : i % 3 === 1 ? `u=${encodeURIComponent(s)}&` : JSON.stringify({ s }))).join('\n');
  const out = redactor.redact(text);
  assert.ok(!out.includes('tok'), 'a secret, or a piece of one, was left');
  assert.equal(out.split('[REDACTED]').length - 1, secrets.length);
  assert.equal(redactor.redact('nothing secret here'), 'nothing secret here');
});
