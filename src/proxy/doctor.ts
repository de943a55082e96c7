// `authsome doctor --proxy`: proves, per client runtime, that a child started by `run` reaches a
// routed host through the proxy, trusts a run's CA (name-constrained to the probe host, as `run`
// mints one) and arrives with the credential. A probe server on loopback plays the routed host
// (its certificate from that CA); each runtime fetches it as a child would. Then each fetches a
// host outside the CA's names whose certificate that CA signed anyway, and must refuse it: a client
// that ignores X.509 name constraints would trust any host the run's CA vouched for. Nothing is
// written to the home but the bundle and preload a run writes, and the bundle is removed afterwards.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { LeafCache, createRunCA } from './certificates.ts';
import { childEnvironment, removeChildFiles, writeChildFiles, type ChildFiles } from './child-env.ts';
import { CredentialCache } from '../broker/index.ts';
import { RouteTable } from './routes.ts';
import { startProxy } from './server.ts';

const PROBE_HOST = 'probe.authsome.invalid'; // RFC 6761 .invalid: never resolvable, so never real
/** Outside the CA's names: not routed, so the proxy tunnels it blindly to the probe server. */
const FOREIGN_HOST = 'foreign.authsome.invalid';

export interface ProbeResult {
  runtime: string;
  outcome: 'ok' | 'failed' | 'not_installed';
  detail: string;
}

const RUNTIMES: Array<{ runtime: string; command: string; args: (host: string) => string[] }> = [
  { runtime: 'curl', command: 'curl', args: (host) => ['-sS', '--max-time', '10', `https://${host}/probe`] },
  { runtime: 'python requests', command: 'python3', args: (host) => ['-c', 'import requests,sys; r=requests.get(sys.argv[1], timeout=10); print(r.text)', `https://${host}/probe`] },
  { runtime: 'python urllib', command: 'python3', args: (host) => ['-c', 'import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())', `https://${host}/probe`] },
  { runtime: 'node fetch', command: process.execPath, args: (host) => ['-e', 'fetch(process.argv[1]).then(r=>r.text()).then(t=>console.log(t),e=>{console.log(String(e.cause?.code||e.message));process.exit(1)})', `https://${host}/probe`] },
  { runtime: 'node https', command: process.execPath, args: (host) => ['-e', "require('https').get(process.argv[1],r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>console.log(b))}).on('error',e=>{console.log(e.code||e.message);process.exit(1)})", `https://${host}/probe`] },
  { runtime: 'git', command: 'git', args: (host) => ['ls-remote', `https://${host}/probe.git`] },
];

export async function probeRuntimes(home: string, env: NodeJS.ProcessEnv): Promise<ProbeResult[]> {
  const ca = await createRunCA({ dns: [PROBE_HOST], ips: [] });
  const leaves = new LeafCache(ca, { isRouted: (host) => host === PROBE_HOST });
  const marker = randomBytes(12).toString('hex');
  const leaf = await leaves.leafFor(PROBE_HOST);
  // A leaf the proxy itself would never mint: the run's CA signing for a name outside its constraints.
  const foreign = await new LeafCache(ca, { isRouted: () => false, anyName: true }).leafFor(FOREIGN_HOST);
  let foreignReached = false;
  const probe = createServer({
    cert: leaf.cert, key: leaf.key,
    SNICallback: (name, done) => done(null, name === FOREIGN_HOST ? foreign.context : leaf.context),
  }, (req, res) => {
    if ((req.socket as TLSSocket).servername === FOREIGN_HOST) {
      foreignReached = true;
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('authsome-probe-ok');
    }
    const arrived = req.headers['x-authsome-probe'] === marker;
    if (req.url?.startsWith('/probe.git/info/refs')) {
      // Enough smart-HTTP for git to accept the answer (an empty repository).
      res.writeHead(arrived ? 200 : 401, { 'content-type': 'application/x-git-upload-pack-advertisement' });
      res.end(arrived ? '001e# service=git-upload-pack\n00000000' : '');
      return;
    }
    res.writeHead(arrived ? 200 : 401, { 'content-type': 'text/plain' }).end(arrived ? 'authsome-probe-ok' : 'no credential arrived');
  });
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const proxy = await startProxy({
    routes: new RouteTable([{ provider: 'probe', connection: 'doctor', auth_type: 'api_key', rules: [{ url: PROBE_HOST, headers: {} }], own_endpoints: [], env_vars: [], strip_env_vars: [] }]),
    leaves,
    credentials: new CredentialCache({
      injection: async () => ({ headers: { 'X-Authsome-Probe': marker }, query: {}, credential: marker, secrets: [marker], renewAt: null, obtainedAt: null, oauth: false }),
      refresh: async () => null,
    }),
    secret: randomBytes(16).toString('base64url'),
    connectTo: new Map([PROBE_HOST, FOREIGN_HOST].map((host) => [`${host}:443`, { host: '127.0.0.1', port: (probe.address() as AddressInfo).port }])),
    upstreamCA: [ca.certPem],
    log: () => {},
  });
  let files: ChildFiles | null = null;
  try {
    files = writeChildFiles(home, ca.certPem, env);
    const childEnv = { ...childEnvironment(env, proxy.url, files, []), GIT_TERMINAL_PROMPT: '0' };
    const results: ProbeResult[] = [];
    for (const { runtime, command, args } of RUNTIMES) {
      const reached = await probeOne(runtime, command, args(PROBE_HOST), childEnv);
      if (reached.outcome !== 'ok') {
        results.push(reached);
        continue;
      }
      foreignReached = false;
      const refused = await probeOne(runtime, command, args(FOREIGN_HOST), childEnv);
      results.push(refused.outcome === 'ok' || foreignReached
        ? { runtime, outcome: 'failed', detail: `trusted a certificate the run's CA signed for ${FOREIGN_HOST}, a host outside its name constraints: this client ignores them, so under run it would trust such a certificate for any host` }
        : { ...reached, detail: `${reached.detail}; refused a certificate for a host outside the CA's names` });
    }
    return results;
  } finally {
    await proxy.close();
    if (files) removeChildFiles(files);
    probe.close();
    probe.closeAllConnections();
  }
}

function probeOne(runtime: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ProbeResult> {
  return new Promise((resolve) => {
    // Our own timer, not spawn's `timeout`: spawn clears that only on 'exit', which a command that
    // is not installed never emits, so its timer kept doctor alive for 20 s after answering.
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', () => clearTimeout(timer));
    child.once('close', () => clearTimeout(timer));
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ENOENT' ? { runtime, outcome: 'not_installed', detail: `${command} is not installed` } : { runtime, outcome: 'failed', detail: error.message });
    });
    child.on('close', (code) => {
      const ok = code === 0 && (runtime === 'git' || output.includes('authsome-probe-ok'));
      const last = output.trim().split('\n').pop()?.slice(0, 200) ?? '';
      resolve({ runtime, outcome: ok ? 'ok' : 'failed', detail: ok ? 'reached the routed host through the proxy, trusted its CA, credential injected' : `exit ${code}: ${last}` });
    });
  });
}
