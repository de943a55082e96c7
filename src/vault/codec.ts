// The value codec of the Python store: AES-256-GCM, 12-byte random nonce, 16-byte tag, no AAD,
// stored as base64(nonce) + "." + base64(ciphertext || tag). See store-format.md.
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Each raw key imported once: a cipher made from a Buffer imports the key again every time, which a
 * `list` of 10,000 records paid 10,000 times (issue 18).
 */
const imported = new WeakMap<Buffer, KeyObject>();
function keyObject(key: Buffer): KeyObject {
  let object = imported.get(key);
  if (!object) imported.set(key, (object = createSecretKey(key)));
  return object;
}

export function sealValue(key: Buffer, plaintext: string): string {
  const { nonce, body } = encrypt(key, plaintext);
  return nonce.toString('base64') + '.' + body.toString('base64');
}

/** Returns the plaintext, or null when the value is not ours to read (wrong key, tampered, not this format). */
export function openValue(key: Buffer, value: string): string | null {
  const dot = value.indexOf('.');
  if (dot <= 0) return null;
  const nonce = Buffer.from(value.slice(0, dot), 'base64');
  return nonce.length === NONCE_BYTES ? decrypt(key, nonce, Buffer.from(value.slice(dot + 1), 'base64')) : null;
}

/**
 * The same sealing as raw bytes, nonce || ciphertext || tag, for authsome's own files outside the
 * store (the list memo): no base64 to encode or decode.
 */
export function sealBytes(key: Buffer, plaintext: string): Buffer {
  const { nonce, body } = encrypt(key, plaintext);
  return Buffer.concat([nonce, body]);
}

/** Opens sealBytes' output; null when the key does not open it (another key, damage, not ours). */
export function openBytes(key: Buffer, sealed: Buffer): string | null {
  return decrypt(key, sealed.subarray(0, NONCE_BYTES), sealed.subarray(NONCE_BYTES));
}

/** A fresh random nonce, and ciphertext || tag under it. */
function encrypt(key: Buffer, plaintext: string): { nonce: Buffer; body: Buffer } {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyObject(key), nonce);
  return { nonce, body: Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]) };
}

/** The plaintext of ciphertext || tag, or null when the key does not open it. */
function decrypt(key: Buffer, nonce: Buffer, body: Buffer): string | null {
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyObject(key), nonce);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const head = decipher.update(body.subarray(0, body.length - TAG_BYTES));
    // final() checks the tag (it throws when the value was not sealed with this key) and, for GCM,
    // adds no bytes: the 1 MB of a list memo is not copied once more to append nothing.
    const tail = decipher.final();
    return (tail.length === 0 ? head : Buffer.concat([head, tail])).toString('utf8');
  } catch {
    return null;
  }
}

export function looksLikeSealedValue(value: string): boolean {
  return /^[A-Za-z0-9+/]{16}\.[A-Za-z0-9+/]+=*$/.test(value);
}
