import type { Event } from '../shared/event';

/**
 * A signed checkpoint: the leading replica's Ed25519 signature over a position of the log and the chain hash after
 * it, appended to the log itself (a global event, `tenantId` null, on the `audit-checkpoints` stream). Whoever can
 * write the database can recompute the sha256 chain, but not these signatures without the signing key.
 */
export type CheckpointSigned = Event<'CheckpointSigned', {
  /** The position signed (the head when the checkpoint was taken; the checkpoint itself comes after it). */
  position: number;
  /** The chain hash after `position`, hex. */
  hash: string;
  /** The first 16 hex digits of the sha256 of the public key (SPKI DER): which key to verify with. */
  keyId: string;
  /** Ed25519 over `checkpointMessage(position, hash)`, base64. */
  signature: string;
}>;

export const CHECKPOINT_STREAM = 'audit-checkpoints';

/** The bytes a checkpoint signs (as UTF-8): domain-separated, so no other signature of the key can pass for one. */
export function checkpointMessage(position: number, hash: string): string {
  return `meshgate-checkpoint\n${position}\n${hash}`;
}

/** The bytes an export line the server vouches for signs: the line without its signature, in canonical JSON. */
export function exportLineMessage(canonicalLineWithoutSignature: string): string {
  return `meshgate-export\n${canonicalLineWithoutSignature}`;
}
