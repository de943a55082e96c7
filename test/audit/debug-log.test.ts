// The debug log file: network and credential events are kept in <home>/logs/authsome.log, redacted,
// rotated by size; a log that cannot be written never fails the command.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DebugLog, redactor } from '../../src/audit/index.ts';

describe('the debug log file', () => {
  it('records events redacted, only `record` lines, 0600', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dbg-')), 'logs', 'authsome.log');
    const log = new DebugLog(null, file);
    redactor.register('canary-secret-value-123');
    log.debug('detail only for --verbose');
    log.record('oauth → POST https://example.test/token', { body: { refresh_token: 'canary-secret-value-123' } });
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /detail only/);
    assert.match(text, /pid=\d+ \[authsome\] oauth → POST https:\/\/example\.test\/token \{"body":\{"refresh_token":"\[REDACTED\]"\}\}/);
    assert.ok(!text.includes('canary-secret-value-123'));
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('rotates past 1 MiB, keeping one older file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dbg-')), 'authsome.log');
    writeFileSync(file, 'x'.repeat(1024 * 1024 + 1));
    new DebugLog(null, file).record('after rotation');
    assert.equal(statSync(file + '.1').size, 1024 * 1024 + 1);
    assert.match(readFileSync(file, 'utf8'), /after rotation/);
  });

  it('never throws when the file cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbg-'));
    // A path below a regular file cannot be created by anyone, root included (modes would not stop root).
    writeFileSync(join(dir, 'plain'), '');
    assert.doesNotThrow(() => new DebugLog(null, join(dir, 'plain', 'logs', 'authsome.log')).record('lost, quietly'));
  });
});
