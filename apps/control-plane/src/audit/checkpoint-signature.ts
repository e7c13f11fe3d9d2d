import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/**
 * Ed25519 over UTF-8 text, and the key's short id: what the control plane signs checkpoints and vouched-for export
 * lines with, and what the standalone verifier checks them with (it needs nothing but this file and the public key).
 */
export function signText(privateKey: KeyObject, text: string): string {
  return sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64');
}

export function verifyText(publicKey: KeyObject, text: string, signature: string): boolean {
  const bytes = Buffer.from(signature, 'base64');
  // Only the one spelling signText writes: base64 has spare bits, and a changed character must not verify.
  if (bytes.length !== 64 || bytes.toString('base64') !== signature) return false;
  return verify(null, Buffer.from(text, 'utf8'), publicKey, bytes);
}

/** The first 16 hex digits of sha256(SPKI DER): names the key in every checkpoint, so a rotated key is told apart. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** A PEM Ed25519 public key (SPKI), or a private key (PKCS#8) whose public half is then used; null if neither. */
export function readPublicKey(pem: string): KeyObject | null {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : null;
  } catch {
    return null;
  }
}
