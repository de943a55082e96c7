// A process that holds nothing but a lease holder string (for the lease-holder tests): prints the
// string this process would write into a lease, then waits until its stdin closes.
import { newLeaseHolder } from '../../src/broker/lease-holder.ts';

process.stdout.write(newLeaseHolder() + '\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
