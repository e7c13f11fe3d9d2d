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
  hash: Buffer;
}

const SELF = '';

/** Metadata parsed once per distinct text per process (one actor sends many heartbeats). */
const metadataCache = new Map<string, RecordedEvent['metadata']>();

export function encodeMetadata(streamId: string, metadata: RecordedEvent['metadata']): string {
  const { actor, ...rest } = metadata;
  if (actor.kind === 'node' && streamId === `node-${actor.id}` && Object.values(rest).every((v) => v === undefined)) return SELF;
  return JSON.stringify(metadata);
}

export function decodeMetadata(streamId: string, text: string): RecordedEvent['metadata'] {
  if (text === SELF) return { actor: { kind: 'node', id: streamId.slice('node-'.length) } };
  let parsed = metadataCache.get(text);
  if (!parsed) {
    if (metadataCache.size > 10_000) metadataCache.clear();
    metadataCache.set(text, (parsed = JSON.parse(text) as RecordedEvent['metadata']));
  }
  return parsed;
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
    recordedAt: new Date(Number(row.recorded_at)).toISOString(),
  };
}

/** The columns every reader selects: the stream's name comes from `streams`. */
export const EVENT_COLUMNS = `e.position, e.tenant_id, s.stream_id, e.stream_version, e.type, e.data, e.metadata, e.recorded_at, e.hash`;
export const EVENTS_FROM = `events e JOIN streams s ON s.ref = e.stream_ref`;
