// Benchmark helper for bench/refresh.mjs (run with --import tsx; it imports src/ through the test
// support): for every line on stdin, moves the `testas` connection of the home in argv[2] into the
// past (its expires_at, as time would) and answers "ok", or "error <message>". One process for
// the whole run, so making a token due costs milliseconds instead of a TypeScript start-up.
import { createInterface } from 'node:readline';
import { makeDue } from '../test/support/make-due.ts';

const home = process.argv[2];
if (!home) throw new Error('usage: make-due.ts <home>');
for await (const _line of createInterface({ input: process.stdin })) {
  try {
    await makeDue(home, 'testas');
    process.stdout.write('ok\n');
  } catch (error) {
    process.stdout.write(`error ${(error as Error).message.replace(/\s+/g, ' ')}\n`);
  }
}
