// The refresh protocol's remaining windows, measured (README "Reliability of refresh"): how often
// a refresher killed at a given moment loses the grant, against the test suite's oidc-provider
// (rotating refresh tokens, the whole grant revoked when a spent one comes back) behind its token
// gate. Run by `npm run bench -- --only windows`, or alone:
//   node --import tsx bench/refresh-windows.ts [--trials N] [--delays 0,1,2,…] [--json]
// For each delay d, N times: the token made due, `get` started, the server's answer held at the
// gate, then delivered, and the process SIGKILLed d ms later; the next `get` says whether the pair
// was stored (it works) or lost (invalid_grant; a new login follows). Also: how long the token
// request itself takes (a kill anywhere in it loses the grant once the server has rotated), and
// how long the write after the answer takes (the debug log's timings). Figures, never asserted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAuthServer } from '../test/support/auth-server.ts';
import { runCli, startCli } from '../test/support/cli.ts';
import { makeDue } from '../test/support/make-due.ts';
import { oauthHome, testProvider } from '../test/support/oauth-home.ts';
import { startTokenGate } from '../test/support/token-gate.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const trials = Number(option('--trials', '4'));
const delays = option('--delays', '0,2,4,6,8,10,12,16,20,30').split(',').map(Number);
const json = args.includes('--json');

const as = await startAuthServer({ accessTokenTtl: 3600 });
const gate = await startTokenGate(`${as.issuer}/token`);
const h = await oauthHome();
// A 3 s request timeout (a 4.5 s lease): ample for an answer held a moment at the gate, and the
// caller after a killed holder never waits long, whatever version of authsome is measured.
const env = { ...h.env, AUTHSOME_REFRESH_TIMEOUT: '3' };
const results: Array<{ delay_ms: number; trials: number; lost: number }> = [];
try {
  await h.register(testProvider(as, { oauth: { token_url: gate.url } }));
  // A new grant (the daemon the login starts is stopped: its background refresher must not take part).
  const login = async () => {
    gate.mode('pass');
    for (let attempt = 1; ; attempt += 1) {
      const r = await runCli(['login', 'testas', '--force'], { env });
      await runCli(['daemon', 'stop'], { env });
      if (r.code === 0) return;
      if (attempt === 3) throw new Error(`login failed: ${r.stderr}`);
    }
  };
  await login();
  for (const delay of delays) {
    let lost = 0;
    for (let t = 0; t < trials; t += 1) {
      await makeDue(h.home, 'testas');
      gate.mode('hold-response');
      const getting = startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
      const held = await Promise.race([gate.nextHeld().then(() => true), getting.done.then(() => false)]);
      if (!held) throw new Error(`the refresh never reached the token endpoint: ${JSON.stringify(await getting.done)}`);
      gate.mode('pass');
      gate.release();
      // Let the gate write the answer (it does so on its next turn of the event loop), then wait
      // busily, not with a timer: under load a timer fires late, which would flatter the figure.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      const until = process.hrtime.bigint() + BigInt(Math.round(delay * 1e6));
      while (process.hrtime.bigint() < until);
      getting.kill('SIGKILL');
      await getting.done;
      const next = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env });
      if (next.code !== 0) {
        lost += 1;
        await login();
      }
    }
    results.push({ delay_ms: delay, trials, lost });
    if (!json) console.error(`killed ${delay} ms after the answer: ${lost}/${trials} lost`);
  }

  // The durations that bound the windows, from refreshes that run to the end: the token request,
  // everything under the lease, and from the answer's arrival to the stored pair (the debug log's
  // timestamps of the answer's line and of the "refreshed" line written right after the commit).
  const request: number[] = [];
  const total: number[] = [];
  const afterAnswer: number[] = [];
  const logFile = join(h.home, 'logs', 'authsome.log');
  for (let t = 0; t < 10; t += 1) {
    await makeDue(h.home, 'testas');
    const r = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret', '--verbose'], { env });
    const post = /oauth ← 200 POST \S+ in (\d+) ms/.exec(r.stderr);
    const done = /refreshed in (\d+) ms/.exec(r.stderr);
    if (post && done) {
      request.push(Number(post[1]));
      total.push(Number(done[1]));
    }
    const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
    const at = (pattern: RegExp) => Date.parse(lines.findLast((line) => pattern.test(line))?.split(' ')[0] ?? '');
    const span = at(/refreshed in \d+ ms/) - at(/oauth ← 200 POST/);
    if (Number.isFinite(span)) afterAnswer.push(span);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;

  // A holder killed with its lease (30 s with the default request timeout): how long the next caller waits.
  const takeover: number[] = [];
  const defaultTimeout = h.env;
  for (let t = 0; t < 2; t += 1) {
    await makeDue(h.home, 'testas');
    gate.mode('hold-request');
    const holder = startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: defaultTimeout });
    await gate.nextHeld();
    holder.kill('SIGKILL');
    await holder.done;
    gate.mode('pass');
    gate.release();
    const started = process.hrtime.bigint();
    const next = await runCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: defaultTimeout });
    if (next.code !== 0) throw new Error(`the caller after a killed holder failed: ${next.stderr}`);
    takeover.push(Number(process.hrtime.bigint() - started) / 1e6);
  }

  const report = {
    kill_after_answer: results,
    after_killed_holder_ms: median(takeover),
    token_request_ms: median(request),
    refresh_under_lease_ms: median(total),
    // Everything under the lease but the request: the pending write before, the final write after.
    local_writes_ms: median(total.map((t, i) => t - request[i]!)),
    answer_to_stored_ms: median(afterAnswer),
  };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log('Refresh windows (a SIGKILL at a given moment; oidc-provider revokes the grant on reuse)');
    for (const r of results) console.log(`  killed ${String(r.delay_ms).padStart(3)} ms after the answer left the gate: ${r.lost}/${r.trials} grants lost`);
    console.log(`  token request (killed anywhere in it, once the server has rotated: lost): median ${report.token_request_ms} ms`);
    console.log(`  local writes under the lease (the pending form before, the pair after): median ${report.local_writes_ms} ms`);
    console.log(`  from the answer's arrival to the stored pair (debug log timestamps): median ${report.answer_to_stored_ms} ms`);
    console.log(`  the next \`get\` after a holder was killed with its 30 s lease: ${report.after_killed_holder_ms?.toFixed(0)} ms`);
  }
} finally {
  await h.cleanup();
  await gate.close();
  await as.close();
}
