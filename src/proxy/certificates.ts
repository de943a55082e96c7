// The run's CA and the leaf certificates minted from it (ECDSA P-256, via @peculiar/x509 on node's
// WebCrypto). Each `run` mints its own CA, name-constrained to the run's routed hosts (RFC 5280
// §4.2.1.10) and valid for a bounded time; its private key is generated non-extractable and lives
// only in this process's memory. Leaves share one key pair and are cached per host, so a new host
// costs one signature (~3 ms); only hosts the run routes, inside the CA's names, get one.
import { X509Certificate, webcrypto } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { permits, type CaScope } from './ca-scope.ts';
import { nameConstraints } from './name-constraints.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/**
 * One CA serves the whole run: Node reads NODE_EXTRA_CA_CERTS once at start, so a child started
 * with this CA could not trust a successor minted mid-run. 30 days covers runs that last days;
 * a run longer than that must be restarted (leaves expire with their CA).
 */
export const CA_VALIDITY_MS = 30 * 86_400_000;
/** The child shares our clock; an hour back covers one stepped by NTP (or a time namespace) meanwhile. */
const BACKDATE_MS = 3_600_000;

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
  /** Signs leaves. Generated non-extractable: no code path can export it, let alone write it. */
  privateKey: webcrypto.CryptoKey;
  cert: import('@peculiar/x509').X509Certificate;
  /** The names its constraints permit. */
  scope: CaScope;
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

/** A CA for one run, permitted to vouch only for `scope`'s names. */
export async function createRunCA(scope: CaScope): Promise<CertificateAuthority> {
  // The key pair is made on libuv's thread pool while the main thread loads @peculiar/x509.
  const [x509, keys] = await Promise.all([loadX509(), globalThis.crypto.subtle.generateKey(ALG, false, ['sign', 'verify']) as Promise<CryptoKeyPair>]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `CN=authsome run ${process.pid} CA, O=authsome`, keys, signingAlgorithm: ALG,
    notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + CA_VALIDITY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      // Critical, as RFC 5280 §4.2.1.10 requires: a client that cannot read it must refuse the CA.
      new x509.Extension('2.5.29.30', true, nameConstraints(scope)),
    ],
  });
  // x509's PEM has no trailing newline; concatenated bundles need one (ERR_OSSL_PEM_BAD_END_LINE).
  return { certPem: cert.toString('pem').trimEnd() + '\n', privateKey: keys.privateKey, cert, scope };
}

/**
 * The install-wide CA earlier versions kept in <home>/proxy (ca.pem, and its key in ca.key, valid
 * 825 days, no name constraints). Nothing uses it any more; its key on disk could still sign for
 * any host wherever someone installed ca.pem as trusted, so it is removed. True when it was there.
 */
export function removeInstallCA(home: string): boolean {
  const files = ['ca.key', 'ca.pem'].map((name) => join(home, 'proxy', name));
  const found = files.some((file) => existsSync(file));
  for (const file of files) rmSync(file, { force: true });
  return found;
}

export interface LeafPolicy {
  /** Whether the run routes this host: no other name gets a leaf, whatever a client's SNI asks for. */
  isRouted(host: string): boolean;
  /**
   * Test-only (AUTHSOME_PROXY_TEST_ANY_SNI with AUTHSOME_TESTING=1): mint for any name, as a
   * proxy gone wrong would, to prove the child rejects a leaf outside the CA's names.
   */
  anyName?: boolean;
}

/** Leaf certificates for intercepted hosts, minted on first use and cached for the run. */
export class LeafCache {
  readonly #ca: CertificateAuthority;
  readonly #policy: LeafPolicy;
  readonly #leaves = new Map<string, Promise<Leaf>>();
  #leafKeys: Promise<LeafMaterial> | null = null;

  constructor(ca: CertificateAuthority, policy: LeafPolicy) {
    this.#ca = ca;
    this.#policy = policy;
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

  /** Whether this host may get a leaf: routed, and inside the CA's names. */
  covers(host: string): boolean {
    const name = host.toLowerCase();
    return this.#policy.isRouted(name) && permits(this.#ca.scope, name);
  }

  leafFor(host: string): Promise<Leaf> {
    const name = host.toLowerCase();
    let leaf = this.#leaves.get(name);
    if (!leaf) {
      // Before, a client's SNI got a leaf for any name it asked, cached for the run's life.
      if (!this.#policy.anyName && !this.covers(name)) return Promise.reject(new Error(`no certificate for ${name}: not a host this run routes`));
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
      // An address's leaf names it in its SAN only, with an empty subject (the SAN then critical,
      // RFC 5280 §4.2.1.6): OpenSSL and GnuTLS check a subject CN against the CA's dNSName
      // constraints when a leaf has no DNS name, and those never permit an address.
      serialNumber: serial(), subject: isIP(host) ? '' : `CN=${host}`, issuer: this.#ca.cert.subject, signingKey: this.#ca.privateKey,
      publicKey, signingAlgorithm: ALG,
      // A leaf never outlives its CA: clients would reject it anyway, with a less clear reason.
      notBefore: new Date(Date.now() - BACKDATE_MS), notAfter: this.#ca.cert.notAfter,
      extensions: [...extensions, new x509.SubjectAlternativeNameExtension([{ type: isIP(host) ? 'ip' : 'dns', value: host }], Boolean(isIP(host)))],
    });
    const chain = cert.toString('pem').trimEnd() + '\n' + this.#ca.certPem;
    return { cert: chain, key: keyPem, context: createSecureContext({ cert: chain, key: keyPem }) };
  }
}

/** Subject of a PEM certificate, for messages and tests. */
export function certificateSubject(pemText: string): string {
  return new X509Certificate(pemText).subject;
}
