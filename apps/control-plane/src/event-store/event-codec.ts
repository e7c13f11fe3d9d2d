import type { RecordedEvent } from '@meshgate/domain';

/**
 * How an event is laid out in the `events` table, the same on both stores. Compact on purpose (a steady-state
 * heartbeat is most of the log): the stream is a small integer reference into `streams`, the time is epoch
 * milliseconds, the hash is 32 raw bytes, and metadata whose only content is "the stream's own node did it" is stored
 * as an empty string. The hash chain is computed over the decoded event, so the layout can change without
 * touching a hash.
 */
export interface EventRow {
  position: number;
  tenant_id: string | null;
  stream_id: string;
  stream_version: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: number;
}

export interface HashedEventRow extends EventRow {
  hash: Buffer;
}

const SELF = '';

/** Metadata parsed once per distinct text (or, for "the stream's node", per stream) per process: shared, never mutated. */
const metadataCache = new Map<string, RecordedEvent['metadata']>();

export function encodeMetadata(streamId: string, metadata: RecordedEvent['metadata']): string {
  const { actor, ...rest } = metadata;
  if (actor.kind === 'node' && streamId === `node-${actor.id}` && Object.values(rest).every((v) => v === undefined)) return SELF;
  return JSON.stringify(metadata);
}

export function decodeMetadata(streamId: string, text: string): RecordedEvent['metadata'] {
  const key = text === SELF ? streamId : text;
  let parsed = metadataCache.get(key);
  if (parsed) return parsed;
  if (text === SELF) parsed = { actor: { kind: 'node', id: streamId.slice('node-'.length) } };
  parsed ??= JSON.parse(text) as RecordedEvent['metadata'];
  if (metadataCache.size > 20_000) metadataCache.clear();
  metadataCache.set(key, parsed);
  return parsed;
}

/** Events of one commit share their time: format each distinct millisecond once. */
let lastTime = { ms: NaN, iso: '' };
function isoTime(ms: number): string {
  if (ms !== lastTime.ms) lastTime = { ms, iso: new Date(ms).toISOString() };
  return lastTime.iso;
}

export function decodeEvent(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    tenantId: row.tenant_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: decodeMetadata(row.stream_id, row.metadata),
    recordedAt: isoTime(Number(row.recorded_at)),
  };
}

/**
 * The columns readers select (the stream's name comes from `streams`). Readers of events leave the hash out: fetching
 * it is most of a compact event's read cost, and only the chain's verification needs it (EVENT_COLUMNS_WITH_HASH).
 */
export const EVENT_COLUMNS = `e.position, e.tenant_id, s.stream_id, e.stream_version, e.type, e.data, e.metadata, e.recorded_at`;
export const EVENT_COLUMNS_WITH_HASH = `${EVENT_COLUMNS}, e.hash`;
export const EVENTS_FROM = `events e JOIN streams s ON s.ref = e.stream_ref`;
