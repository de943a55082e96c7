// How `export` writes a value so that the program reading it takes it literally: a POSIX shell
// (`eval`, `set -a; . file`), a dotenv loader (Node's --env-file / process.loadEnvFile,
// python-dotenv), or a JSON parser. Values are already printable ASCII (util/credential-text.ts);
// what is left to defend against is $(…), `…`, ${…}, quotes, "#", ";" and friends.

/** Characters no shell or dotenv loader treats specially (the set Python's shlex.quote leaves bare). */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single quotes keep every character literal; a quote itself is closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A shell word: bare when nothing in it is special (so `docker --env-file` reads common tokens as they are), else quoted. */
export function shellWord(value: string): string {
  return PLAIN.test(value) ? value : shellQuote(value);
}

/**
 * A dotenv value that a POSIX shell, Node's parser and python-dotenv all read as `value`, or null
 * when there is none. Single quotes are literal to all three (python-dotenv decodes only \\ and \'
 * there, so no backslash may appear); a value with a single quote goes in double quotes, where it
 * must then carry none of `"`, `$`, `` ` `` and `\`, which the shell or python-dotenv would interpret.
 */
export function dotenvValue(value: string): string | null {
  if (!/['\\]/.test(value)) return `'${value}'`;
  if (!/["$`\\]/.test(value)) return `"${value}"`;
  return null;
}
