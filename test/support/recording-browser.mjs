// A $BROWSER stand-in that records what it was started with and stays alive, like a real browser
// holding its command line: tests read /proc/<pid>/cmdline and environ as another user while it runs.
// Plain JavaScript (no tsx loader) so its command line is just node, this file and what the opener gave.
import { writeFileSync, renameSync } from 'node:fs';

const record = process.env.AUTHSOME_TEST_BROWSER_RECORD;
if (!record) throw new Error('AUTHSOME_TEST_BROWSER_RECORD is not set');
// Written whole (rename) so a reader never sees half a record.
writeFileSync(`${record}.tmp`, JSON.stringify({ pid: process.pid, argv: process.argv.slice(2) }));
renameSync(`${record}.tmp`, record);
// Alive until the test ends it (SIGTERM by its pid).
setInterval(() => undefined, 1 << 30);
