// The proxy benchmark's HTTPS upstream, in a process of its own so it shares no event loop with the
// client or the proxy: a throwaway CA and one leaf for every host given, a small JSON answer on
// keep-alive connections saying whether BENCH_EXPECTED_KEY arrived as X-Api-Key (never echoing it);
// GET /stats answers how many requests and TLS connections it has seen, and its CPU time so far. It exits when stdin ends.
//   node bench/proxy-upstream.mjs <dir> <host>…  → writes <dir>/upstream-ca.pem, prints {"port":N}
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';

x509.cryptoProvider.set(globalThis.crypto);
const [dir, ...hosts] = process.argv.slice(2);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const subtle = globalThis.crypto.subtle;
const day = (n) => new Date(Date.now() + n * 86_400_000);
const caKeys = await subtle.generateKey(ALG, true, ['sign', 'verify']);
const ca = await x509.X509CertificateGenerator.createSelfSigned({
  serialNumber: '01', name: 'CN=authsome bench upstream CA', keys: caKeys, signingAlgorithm: ALG, notBefore: day(-1), notAfter: day(2),
  extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
});
const leafKeys = await subtle.generateKey(ALG, true, ['sign', 'verify']);
const leaf = await x509.X509CertificateGenerator.create({
  serialNumber: '02', subject: `CN=${hosts[0]}`, issuer: ca.subject, signingKey: caKeys.privateKey, publicKey: leafKeys.publicKey,
  signingAlgorithm: ALG, notBefore: day(-1), notAfter: day(2),
  extensions: [new x509.SubjectAlternativeNameExtension(hosts.map((value) => ({ type: 'dns', value }))), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
});
// The throwaway leaf key, generated above for this run only, in PEM for node:https.
const key = KeyObject.from(leafKeys.privateKey).export({ type: 'pkcs8', format: 'pem' });

const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

// Connections are counted by the path (X-Bench-Path) of the first request each carries.
const seen = { requests: 0, connections: {} };
const server = createServer({ cert: leaf.toString('pem'), key }, (req, res) => {
  seen.requests++;
  if (!req.socket.counted) seen.connections[req.headers['x-bench-path']] = (seen.connections[req.headers['x-bench-path']] ?? 0) + (req.socket.counted = 1);
  const answer = req.url === '/stats' ? { ...seen, cpu_us: cpuUs() } : { ok: true, key: req.headers['x-api-key'] === process.env.BENCH_EXPECTED_KEY ? 'injected' : 'not injected' };
  const body = JSON.stringify(answer);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  writeFileSync(join(dir, 'upstream-ca.pem'), ca.toString('pem').trimEnd() + '\n');
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0)).resume();
