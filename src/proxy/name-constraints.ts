// The DER of a NameConstraints extension value (RFC 5280 §4.2.1.10) for a run's CA. @peculiar/x509
// has no class for it, and the structure is small enough to write here, by the X.690 rules:
//   NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
//                                  excludedSubtrees  [1] GeneralSubtrees OPTIONAL }
//   GeneralSubtree  ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }
//   GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING (address then mask, §4.2.1.10)
import { ipBytes, type CaScope } from './ca-scope.ts';

/** RFC 6761 reserves .invalid: it never resolves, and the proxy never mints a leaf under it. */
const NO_DNS_NAME = 'invalid';

/**
 * Permitted: the scope's DNS names and addresses. A name type with no permitted subtree is
 * unconstrained (§4.2.1.10), so a scope without addresses excludes every IPv4 and IPv6 address,
 * and one without DNS names permits only `.invalid`: the CA then vouches for nothing else.
 */
export function nameConstraints(scope: CaScope): ArrayBuffer {
  const permitted = [...(scope.dns.length ? scope.dns : [NO_DNS_NAME]).map(dnsSubtree), ...scope.ips.map(ipSubtree)];
  const excluded = scope.ips.length ? [] : [ipRange(4), ipRange(16)];
  const parts = [der(0xa0, Buffer.concat(permitted))];
  if (excluded.length) parts.push(der(0xa1, Buffer.concat(excluded)));
  const value = der(0x30, Buffer.concat(parts));
  return value.buffer.slice(value.byteOffset, value.byteOffset + value.length) as ArrayBuffer;
}

function dnsSubtree(name: string): Buffer {
  return der(0x30, der(0x82, Buffer.from(name, 'ascii')));
}

/** One address: all mask bits set. */
function ipSubtree(address: string): Buffer {
  const bytes = ipBytes(address);
  return der(0x30, der(0x87, Buffer.from([...bytes, ...bytes.map(() => 0xff)])));
}

/** Every address of one family: address and mask all zero. */
function ipRange(length: 4 | 16): Buffer {
  return der(0x30, der(0x87, Buffer.alloc(length * 2)));
}

/** One DER TLV: definite length, short form below 128 bytes (X.690 §8.1.3). */
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}
