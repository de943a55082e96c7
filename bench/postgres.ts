// Benchmark helper for bench/store.mjs (run with --import tsx): starts the test suite's throwaway
// PostgreSQL (test/support/postgres.ts) with one fresh database per name in argv, prints
// {"urls": {name: url, …}} on one line, and stops the server (removing its data) when stdin ends
// or on SIGTERM/SIGINT, so the benchmark's synchronous shutdown only has to close a pipe.
import { startPostgres } from '../test/support/postgres.ts';

const names = process.argv.slice(2);
if (names.length === 0) throw new Error('usage: postgres.ts <database>…');
const started = startPostgres();
let stopping: Promise<void> | null = null;
// Listening before the server is up: a stop asked for during start-up waits for it, then stops it.
const stop = () => (stopping ??= started.then((server) => server.stop()).catch(() => undefined).finally(() => process.exit(0)));
process.stdin.on('end', stop).resume();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
const server = await started.catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
const urls: Record<string, string> = {};
for (const name of names) urls[name] = await server.createDatabase(name);
process.stdout.write(`${JSON.stringify({ urls })}\n`);
