import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Node tokens, enrollment keys and API keys are `<prefix>.<id>.<secret>`: the id finds the record, the secret proves
 * possession. Secrets are 256 random bits, so a plain sha256 is a safe verifier (argon2 is for low-entropy passwords)
 * and keeps the heartbeat path cheap.
 */
export const NODE_TOKEN_PREFIX = 'mgn';
export const ENROLLMENT_KEY_PREFIX = 'mgk';
export const API_KEY_PREFIX = 'mga';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

const digestOf = (secret: string): Buffer => createHash('sha256').update(secret).digest();

export function hashSecret(secret: string): string {
  return digestOf(secret).toString('hex');
}

export function formatCredential(prefix: string, id: string, secret: string): string {
  return `${prefix}.${id}.${secret}`;
}

export function parseCredential(token: string, prefix: string): { id: string; secret: string } | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== prefix) return null;
  if (!/^[0-9a-f-]{36}$/.test(parts[1]) || !/^[A-Za-z0-9_-]{43}$/.test(parts[2])) return null;
  return { id: parts[1], secret: parts[2] };
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = digestOf(secret);
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
