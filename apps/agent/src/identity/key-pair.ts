import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

/** DER prefix of a PKCS#8 X25519 private key; the raw 32-byte scalar follows it. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A new WireGuard private key (32 raw bytes), made locally: the key never leaves the machine. */
export function generatePrivateKey(): Buffer {
  const { privateKey } = generateKeyPairSync('x25519');
  return privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_X25519_PREFIX.length);
}

/** The X25519 public key of a raw private key, as WireGuard computes it (`wg pubkey`). */
export function publicKeyOf(privateKey: Buffer): Buffer {
  if (privateKey.length !== 32) throw new Error('a WireGuard private key is 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32);
}
