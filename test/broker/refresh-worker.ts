// A library user in its own process (for the refresh tests): waits for the start line on stdin,
// then asks for the access token N times in a row and prints each one.
import { Authsome } from '../../src/index.ts';

const calls = Number(process.argv[2] ?? 1);
await new Promise((resolve) => process.stdin.once('data', resolve));
const authsome = new Authsome();
try {
  for (let i = 0; i < calls; i++) process.stdout.write((await authsome.getSecret('testas')) + '\n');
} finally {
  await authsome.close();
}
process.stdin.destroy();
