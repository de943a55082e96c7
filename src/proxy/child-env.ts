// The child's environment under `run`: proxy variables pointing at our proxy (its secret in the
// URL), one CA bundle (system roots + any extra CAs + ours) under every name clients look for,
// a preload that makes Node 20's fetch and http(s) use the proxy, placeholders for the routed
// providers' key variables — and none of authsome's own secrets.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { PLACEHOLDER } from '../broker/index.ts';
import { ensurePrivateDir, writePrivateFile } from '../util/index.ts';

export { PLACEHOLDER };
/** Never handed to a child: they unlock the vault. */
const VAULT_SECRETS = ['AUTHSOME_MASTER_KEY', 'AUTHSOME_PASSPHRASE', 'AUTHSOME_NEW_MASTER_KEY'];
const BUNDLE_VARS = ['SSL_CERT_FILE', 'CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'GIT_SSL_CAINFO', 'AWS_CA_BUNDLE', 'PIP_CERT'];

export interface ChildFiles {
  bundle: string;
  preload: string;
}

/**
 * Writes the CA bundle and the Node preload into <home>/proxy (both public material, 0600 anyway).
 * `caPem` is the run's own CA certificate (its key stays in the proxy's memory); null when the run
 * routes nothing, so the child trusts no CA of ours at all.
 */
export function writeChildFiles(home: string, caPem: string | null, env: NodeJS.ProcessEnv): ChildFiles {
  const dir = join(home, 'proxy');
  ensurePrivateDir(dir);
  // One bundle per run, removed when it ends: each run has its own CA, and no child trusts another run's.
  // The bundle replaces a client's trust store (curl, requests, git): it must keep the system
  // roots for hosts we tunnel blindly, and CAs the user already added (a corporate proxy's).
  const extra = env.NODE_EXTRA_CA_CERTS ? safeRead(env.NODE_EXTRA_CA_CERTS) : '';
  const bundle = join(dir, `bundle-${process.pid}-${randomBytes(4).toString('hex')}.pem`);
  writePrivateFile(bundle, [...rootCertificates, extra.trim(), caPem?.trim()].filter(Boolean).join('\n') + '\n');
  const preload = join(dir, 'preload.cjs');
  writePrivateFile(preload, preloadSource());
  return { bundle, preload };
}

/** Removes the run's bundle once the child is gone. */
export function removeChildFiles(files: ChildFiles): void {
  rmSync(files.bundle, { force: true });
}

export function childEnvironment(parent: NodeJS.ProcessEnv, proxyUrl: string, files: ChildFiles, placeholders: string[], removed: string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent };
  for (const name of [...VAULT_SECRETS, ...removed]) delete env[name];
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete env[name];
  env.HTTPS_PROXY = env.https_proxy = env.HTTP_PROXY = env.http_proxy = proxyUrl;
  const noProxy = new Set([...(parent.NO_PROXY ?? parent.no_proxy ?? '').split(','), 'localhost', '127.0.0.1', '::1'].map((s) => s.trim()).filter(Boolean));
  env.NO_PROXY = env.no_proxy = [...noProxy].join(',');
  for (const name of BUNDLE_VARS) env[name] = files.bundle;
  // NODE_EXTRA_CA_CERTS adds to Node's roots rather than replacing them, so the bundle fits too.
  env.NODE_EXTRA_CA_CERTS = files.bundle;
  env.NODE_OPTIONS = [parent.NODE_OPTIONS, `--require ${JSON.stringify(files.preload)}`].filter(Boolean).join(' '); // quoted: paths may hold spaces
  // SDKs refuse to start without their key variable; the proxy supplies the real credential.
  for (const name of placeholders) env[name] = PLACEHOLDER;
  return env;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Node 20 ignores HTTP(S)_PROXY for fetch and http(s). The preload installs undici's
 * EnvHttpProxyAgent (honours NO_PROXY) as fetch's dispatcher and proxy agents for http(s).
 * Modules resolve from authsome's own install, so the child needs none of them.
 */
function preloadSource(): string {
  const require = createRequire(import.meta.url);
  const paths = {
    undici: require.resolve('undici'),
    https: require.resolve('https-proxy-agent'),
    http: require.resolve('http-proxy-agent'),
  };
  return `// authsome run: route this Node process's fetch and http(s) through the authsome proxy.
'use strict';
const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
if (proxy) {
  const http = require('node:http');
  const https = require('node:https');
  const { setGlobalDispatcher, EnvHttpProxyAgent } = require(${JSON.stringify(paths.undici)});
  setGlobalDispatcher(new EnvHttpProxyAgent());
  const { HttpsProxyAgent } = require(${JSON.stringify(paths.https)});
  const { HttpProxyAgent } = require(${JSON.stringify(paths.http)});
  // NO_PROXY hosts connect directly, as EnvHttpProxyAgent does for fetch.
  const noProxy = (process.env.NO_PROXY || process.env.no_proxy || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bypass = (host) => {
    const name = String(host || '').toLowerCase().replace(/^\\[|\\]$/g, '');
    return noProxy.some((p) => p === '*' || name === p || name.endsWith(p.startsWith('.') ? p : '.' + p));
  };
  const directHttps = new https.Agent({ keepAlive: true });
  const directHttp = new http.Agent({ keepAlive: true });
  // Constructible without arguments: \`http.request({ agent: false })\` builds \`new globalAgent.constructor()\`.
  class HttpsViaAuthsome extends HttpsProxyAgent {
    constructor(options) { super(proxy, { keepAlive: true, ...options }); }
    connect(req, options) { return bypass(options.host) ? directHttps : super.connect(req, options); }
  }
  class HttpViaAuthsome extends HttpProxyAgent {
    constructor(options) { super(process.env.HTTP_PROXY || process.env.http_proxy || proxy, { keepAlive: true, ...options }); }
    connect(req, options) { return bypass(options.host) ? directHttp : super.connect(req, options); }
  }
  https.globalAgent = new HttpsViaAuthsome();
  http.globalAgent = new HttpViaAuthsome();
}
`;
}

