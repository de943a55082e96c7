// A node:test reporter that prints, once every file has run, how long each file's tests took (ms,
// summed over its top-level tests, keyed by the path relative to the repository). scripts/test.mjs
// records it to order the next run's files longest first.
import { relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

export default async function* fileDurations(source) {
  const perFile = {};
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      const file = relative(root, event.data.file);
      perFile[file] = (perFile[file] ?? 0) + (event.data.details?.duration_ms ?? 0);
    }
  }
  yield JSON.stringify(perFile) + '\n';
}
