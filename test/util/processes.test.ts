// A process that has exited but is not reaped yet (a zombie) is not running: in a container whose
// first process never reaps orphans, a stopped daemon stays a zombie, and `daemon stop` used to
// wait out its whole deadline for it (kill(pid, 0) still answers for a zombie).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessRunning, isZombie } from '../../src/util/index.ts';

const stateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
};

describe('isProcessRunning', () => {
  it('a running process is, a zombie and a pid that is gone are not', async () => {
    // sh starts `true` in the background and becomes `sleep`, which never reaps it: `true` exits
    // and stays a zombie until its parent does.
    const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = await once(parent.stdout!, 'data') as [Buffer];
      const zombie = Number(line.toString().trim());
      assert.ok(Number.isInteger(zombie) && zombie > 1, line.toString());
      // Exiting takes the child a moment; there is no event for another process's state.
      for (let i = 0; i < 500 && stateOf(zombie) !== 'Z'; i++) await sleep(10);
      assert.equal(stateOf(zombie), 'Z', 'the child is a zombie');
      assert.doesNotThrow(() => process.kill(zombie, 0), 'kill(pid, 0) still answers for a zombie');
      assert.equal(isZombie(zombie), true);
      assert.equal(isProcessRunning(zombie), false);

      assert.equal(isProcessRunning(parent.pid!), true, 'its parent runs');
      assert.equal(isProcessRunning(process.pid), true);
    } finally {
      parent.kill('SIGKILL');
      await once(parent, 'exit');
    }
    assert.equal(isProcessRunning(parent.pid!), false, 'a reaped process is gone');
  });
});
