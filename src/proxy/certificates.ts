// The per-install CA and the leaf certificates minted from it (ECDSA P-256, via @peculiar/x509 on
// node's WebCrypto). The CA key stays in the home (0600) and never enters a child's environment;
// leaves share one key pair and are cached per host, so a new host costs one signature (~3 ms).
import { X509Certificate, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ensurePrivateDir, writePrivateFile } from '../util/index.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CA_DAYS = 825;
const LEAF_DAYS = 30;

type X509Module = typeof import('@peculiar/x509');

let x509Module: Promise<X509Module> | null = null;
/** @peculiar/x509 costs ~86 ms to load, so only `run` loads it; v2 needs a Reflect polyfill first. */
function loadX509(): Promise<X509Module> {
  x509Module ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(globalThis.crypto);
    return x509;
  })();
  return x509Module;
}

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  certFile: string;
  /** Signs leaves; holds the CA key in memory only. */
  keys: CryptoKeyPair;
  cert: import('@peculiar/x509').X509Certificate;
}

interface LeafMaterial {
  publicKey: import('@peculiar/x509').PublicKey;
  keyPem: string;
  extensions: import('@peculiar/x509').Extension[];
}

export interface Leaf {
  cert: string;
  key: string;
  /** Built once per host: creating a TLS context costs milliseconds, a CONNECT must not pay it twice. */
  context: SecureContext;
}

const pem = (der: ArrayBuffer, label: string) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
const serial = () => '01' + Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(15))).toString('hex');

/** The home's CA: loaded from <home>/proxy, or created there on first use (cert 0600 too: it is ours). */
export async function loadOrCreateCA(home: string): Promise<CertificateAuthority> {
  const x509 = await loadX509();
  const dir = join(home, 'proxy');
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca.key');
  const subtle = globalThis.crypto.subtle;
  if (existsSync(certFile) && existsSync(keyFile)) {
    const certPem = readFileSync(certFile, 'utf8');
    const keyPem = readFileSync(keyFile, 'utf8');
    const cert = new x509.X509Certificate(certPem);
    // Renew a CA about to expire rather than fail every TLS handshake on the day it does.
    if (cert.notAfter.getTime() - Date.now() > 30 * 86_400_000) {
      const der = Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      const privateKey = await subtle.importKey('pkcs8', der, ALG, false, ['sign']);
      return { certPem, keyPem, certFile, keys: { privateKey, publicKey: await cert.publicKey.export() }, cert };
    }
  }
  const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'CN=authsome local proxy CA, O=authsome', keys, signingAlgorithm: ALG,
    notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + CA_DAYS * 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // x509's PEM has no trailing newline; concatenated bundles need one (ERR_OSSL_PEM_BAD_END_LINE).
  const certPem = cert.toString('pem').trimEnd() + '\n';
  const keyPem = pem(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  ensurePrivateDir(dir);
  writePrivateFile(keyFile, keyPem);
  writePrivateFile(certFile, certPem);
  return { certPem, keyPem, certFile, keys, cert };
}

/** Leaf certificates for intercepted hosts, minted on first use and cached for the run. */
export class LeafCache {
  readonly #ca: CertificateAuthority;
  readonly #leaves = new Map<string, Promise<Leaf>>();
  #leafKeys: Promise<LeafMaterial> | null = null;

  constructor(ca: CertificateAuthority) {
    this.#ca = ca;
  }

  get size(): number {
    return this.#leaves.size;
  }

  /**
   * Does the once-per-run work ahead of the first CONNECT — the leaf key pair, and the leaves of
   * hosts known in advance — while the child is still starting.
   */
  warm(hosts: string[]): void {
    // One throwaway leaf first: the first few mints run cold (JIT), ~10 ms each instead of ~4.
    void this.#mint('warm-up.authsome.invalid').catch(() => undefined);
    for (const host of hosts) this.leafFor(host).catch(() => undefined);
  }

  leafFor(host: string): Promise<Leaf> {
    const name = host.toLowerCase();
    let leaf = this.#leaves.get(name);
    if (!leaf) {
      leaf = this.#mint(name);
      this.#leaves.set(name, leaf);
      leaf.catch(() => this.#leaves.delete(name));
    }
    return leaf;
  }

  /**
   * What every leaf of the run shares, computed once: one key pair (a new host then costs a
   * signature, not a key generation) and the extensions that do not name the host.
   */
  #material(): Promise<LeafMaterial> {
    this.#leafKeys ??= (async () => {
      const x509 = await loadX509();
      const subtle = globalThis.crypto.subtle;
      const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      return {
        publicKey: await x509.PublicKey.create(keys.publicKey),
        keyPem: pem(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          await x509.AuthorityKeyIdentifierExtension.create(this.#ca.cert),
        ],
      };
    })();
    return this.#leafKeys;
  }

  async #mint(host: string): Promise<Leaf> {
    const x509 = await loadX509();
    const { publicKey, keyPem, extensions } = await this.#material();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(), subject: `CN=${host}`, issuer: this.#ca.cert.subject, signingKey: this.#ca.keys.privateKey,
      publicKey, signingAlgorithm: ALG,
      notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + LEAF_DAYS * 86_400_000),
      extensions: [...extensions, new x509.SubjectAlternativeNameExtension([{ type: isIP(host) ? 'ip' : 'dns', value: host }])],
    });
    const chain = cert.toString('pem').trimEnd() + '\n' + this.#ca.certPem;
    return { cert: chain, key: keyPem, context: createSecureContext({ cert: chain, key: keyPem }) };
  }
}

/** Subject of a PEM certificate, for messages and tests. */
export function certificateSubject(pemText: string): string {
  return new X509Certificate(pemText).subject;
}
