// The README cannot go stale (issue 17, item 4): every `authsome` command line in its shell
// blocks parses with the real command tree; the quick start runs for real; the library example
// compiles in a strict TypeScript project against the built typings; the `log --event` list names
// exactly the events the code writes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, cleanEnv } from '../support/cli.ts';
import { authsomeWords, inertProgram } from '../support/cli-parse.ts';
import { cleanupHomes, freshHome, REPO_ROOT, tempDir } from '../support/homes.ts';
import { compileStrict } from '../support/strict-consumer.ts';

after(cleanupHomes);

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The fenced blocks of one language (`sh`, `js`, …). */
function blocks(language: RegExp): string[] {
  return [...README.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)].filter((m) => language.test(m[1]!)).map((m) => m[2]!);
}

/**
 * Each command line of the shell blocks that runs authsome, its comment removed, `npx authsome-cli`
 * or `npx authsome` as `authsome`; and each inline `authsome …` span of the prose that names a
 * concrete command (no <placeholder>, [option], … or alternatives).
 */
function commandLines(): string[] {
  const fenced = blocks(/^(sh|bash|shell|console)?$/).flatMap((block) => block.split('\n'));
  const normal = (line: string) => line.replace(/\s+#\s.*$/, '').replace(/\bnpx authsome(-cli)? /g, 'authsome ').trim();
  return fenced.map(normal).filter((line) => /(^|[\s|(;&"])authsome /.test(line));
}

/** The inline `authsome …` spans of the prose that name a concrete command line (no <placeholder>, [option], alternatives or table escapes). */
function inlineSpans(): string[] {
  return [...README.matchAll(/`((?:npx )?authsome(?:-cli)? [^`]+)`/g)].map((m) => m[1]!.replace(/^npx authsome(-cli)? /, 'authsome '))
    .filter((span) => !/[<>[\]…{}\\|]|\.\.\./.test(span));
}

/** Parses like the CLI; help and version are not failures, and with `mentions` a missing argument is not either (the prose names a command). */
async function parseProblem(line: string, mentions: boolean): Promise<string | null> {
  try {
    await inertProgram().parseAsync(authsomeWords(line), { from: 'user' });
    return null;
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(code)) return null;
    if (mentions && code === 'commander.missingArgument') return null;
    return `${line}\n    ${(error as Error).message}`;
  }
}

describe('the README', () => {
  it('every authsome command line in it, and every command its prose names, parses with the real command tree', async () => {
    const lines = commandLines();
    const spans = inlineSpans();
    assert.ok(lines.length >= 15 && spans.length >= 60, `found ${lines.length} command lines and ${spans.length} inline commands`);
    const failures: string[] = [];
    for (const line of lines) failures.push(...[await parseProblem(line, false)].filter((p): p is string => p !== null));
    for (const span of spans) failures.push(...[await parseProblem(span, true)].filter((p): p is string => p !== null));
    assert.deepEqual(failures, []);
  });

  it('its quick start runs as written', () => {
    const quick = blocks(/^sh$/).find((block) => block.includes('authsome init') && block.includes('--api-key-stdin'));
    assert.ok(quick, 'the quick start block');
    const bin = tempDir();
    writeFileSync(join(bin, 'npx'), `#!/bin/sh\n[ "$1" = authsome ] || [ "$1" = authsome-cli ] || exit 99\nshift\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    const home = freshHome();
    const key = 'sk-readme-0123456789abcdef';
    // After the block, the variable comes from export alone.
    const script = `set -e\n${quick}\nunset OPENAI_API_KEY\neval "$(npx authsome export openai --format shell)"\nprintf '%s' "$OPENAI_API_KEY"`;
    const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, AUTHSOME_HOME: home, OPENAI_API_KEY: key, NO_COLOR: '1' }) });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.stdout.trimEnd().endsWith(`${key}\n${key}`), 'get printed the key, and export set it in the shell');
  });

  it('its library example compiles in a strict TypeScript project against the built typings', () => {
    const example = blocks(/^(js|ts|typescript)$/).find((block) => block.includes('new Authsome('));
    assert.ok(example);
    const tsc = compileStrict(`${example}\nexport {};\n`, { lib: ['es2022', 'dom'] });
    assert.equal(tsc.status, 0, tsc.output);
  });

  it('the log --event list names exactly the events the code writes', () => {
    const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [readFileSync(join(dir, entry.name), 'utf8')] : []);
    const written = new Set(sources(join(REPO_ROOT, 'src')).flatMap((text) => [...text.matchAll(/auditEvent\('([a-z_]+)'/g)].map((m) => m[1]!)));
    const section = /- `--event <name>`: only entries of one event\. Events: ([^\n]*)/.exec(README);
    assert.ok(section, 'the --event paragraph');
    // The event names are the backquoted words before each parenthesis or comma (field names inside parentheses are not events).
    let text = section[1]!;
    while (/\([^()]*\)/.test(text)) text = text.replace(/\([^()]*\)/g, ''); // nested parentheses, innermost first
    text = text.slice(0, text.indexOf('.')); // the list ends with its sentence
    const listed = new Set([...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!));
    assert.deepEqual([...listed].sort(), [...written].sort());
  });
});
