// Who holds a lease, as a waiter on the same machine sees it (lease-holder.ts): real processes,
// alive, stopped, killed and reaped. Only a holder that is certainly gone frees its lease early.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { isLeaseHolderGone, newLeaseHolder } from '../../src/broker/lease-holder.ts';

const CHILD = fileURLToPath(new URL('../support/lease-holder-process.ts', import.meta.url));

async function holderProcess(): Promise<{ child: ChildProcess; holder: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  while (!out.includes('\n')) out += (await once(child.stdout!, 'data'))[0];
  return { child, holder: out.trim() };
}

/** Waits until /proc shows the process in this state (T: stopped). */
async function stateOf(pid: number, state: string): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith(state)) return;
    await sleep(2);
  }
  assert.fail(`process ${pid} never reached state ${state}`);
}

describe('lease holders', () => {
  it('name the host, the process and its start time', () => {
    const [host, , pid, start] = newLeaseHolder().split(':');
    assert.ok(host);
    assert.equal(pid, String(process.pid));
    assert.match(start!, /^\d+$/);
    assert.notEqual(newLeaseHolder(), newLeaseHolder(), 'two attempts of one process are told apart');
  });

  it('a live holder, even stopped, is never gone; a killed one is gone at once', async () => {
    const { child, holder } = await holderProcess();
    try {
      assert.equal(isLeaseHolderGone(holder), false, 'alive');
      child.kill('SIGSTOP');
      await stateOf(child.pid!, 'T'); // the stop is delivered asynchronously
      assert.equal(isLeaseHolderGone(holder), false, 'stopped (Ctrl-Z) is alive');
      child.kill('SIGCONT');
    } finally {
      child.kill('SIGKILL');
    }
    await once(child, 'exit');
    assert.equal(isLeaseHolderGone(holder), true, 'killed');
  });

  it('a reused pid (another start time) is gone; another machine\'s or an unknown holder never is', () => {
    const [host, scope, pid, start, nonce] = newLeaseHolder().split(':') as [string, string, string, string, string];
    assert.equal(isLeaseHolderGone([host, scope, pid, start, nonce].join(':')), false, 'this very process');
    assert.equal(isLeaseHolderGone([host, scope, pid, String(Number(start) + 1), nonce].join(':')), true, 'same pid, another start time');
    assert.equal(isLeaseHolderGone([`${host}-other`, scope, pid, '1', nonce].join(':')), false, 'another host');
    assert.equal(isLeaseHolderGone([host, 'feedfacecafe', pid, '1', nonce].join(':')), false, 'another container or boot');
    assert.equal(isLeaseHolderGone(`${host}:${process.pid}:abcdef12`), false, 'the older format (host:pid:nonce)');
  });
});
