// Benchmark helper for bench/refresh.mjs and bench/store.mjs (run with --import tsx; it imports
// src/ through the test support): for every line on stdin, moves the `testas` connection of the
// home in argv[2] into the past (its expires_at, as time would) and answers "ok", or "error
// <message>". The records are where the CLI would find them with this environment: a shared store
// when AUTHSOME_STORE_URL is set (opened with AUTHSOME_MASTER_KEY), else the home's. One process
// for the whole run, so making a token due costs milliseconds instead of a TypeScript start-up.
import { createInterface } from 'node:readline';
import { makeDue } from '../test/support/make-due.ts';

const home = process.argv[2];
if (!home) throw new Error('usage: make-due.ts <home>');
const access = { storeUrl: process.env.AUTHSOME_STORE_URL || undefined, masterKey: process.env.AUTHSOME_MASTER_KEY || undefined };
for await (const _line of createInterface({ input: process.stdin })) {
  try {
    await makeDue(home, 'testas', 'default', 'default', -1000, access);
    process.stdout.write('ok\n');
  } catch (error) {
    process.stdout.write(`error ${(error as Error).message.replace(/\s+/g, ' ')}\n`);
  }
}
