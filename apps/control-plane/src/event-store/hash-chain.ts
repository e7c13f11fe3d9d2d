import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth: the same event always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const GENESIS_HASH = '0'.repeat(64);

export interface HashedFields {
  position: number;
  tenantId: string | null;
  streamId: string;
  streamVersion: number;
  type: string;
  data: unknown;
  metadata: unknown;
  recordedAt: string;
}

/** hash = sha256(previous hash ‖ canonical event): altering or dropping any event breaks every later hash. */
export function chainHash(previous: string, event: HashedFields): string {
  return createHash('sha256').update(previous).update(canonicalJson(event)).digest('hex');
}
