import type { ExportEvent } from '@meshgate/contracts';
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth: the same event always hashes the same. On the append hot path. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (value[i] === undefined ? 'null' : canonicalJson(value[i]));
    return out + ']';
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = object[key];
    if (v === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

export const GENESIS_HASH = '0'.repeat(64);

/** What the chain hashes of an event: an export's event line without its `kind` and `hash` (one definition). */
export type HashedFields = Omit<ExportEvent, 'kind' | 'hash'>;

/** hash = sha256(previous hash ‖ canonical event): altering or dropping any event breaks every later hash. */
export function chainHash(previous: string, event: HashedFields): string {
  return createHash('sha256').update(previous).update(canonicalJson(event)).digest('hex');
}
