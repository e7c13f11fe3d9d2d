import type { RecordedEvent } from '@meshgate/domain';
import type { ColumnPage } from '../storage/column-page';

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

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
/** Years 1970–9999, where the short path below spells exactly what Date#toISOString does. */
const LAST_SHORT_MS = 253_402_300_799_999;
let day = { start: NaN, prefix: '' };

/**
 * `new Date(ms).toISOString()`, formatting each day's date once: replaying the log is mostly heartbeats, each at its
 * own millisecond, and a Date per event was an eighth of a replay's time.
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms <= LAST_SHORT_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const start = ms - (ms % DAY_MS);
  if (start !== day.start) day = { start, prefix: new Date(start).toISOString().slice(0, 11) };
  let rest = ms - start;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const second = rest % 60;
  rest = (rest - second) / 60;
  const minute = rest % 60;
  const hour = (rest - minute) / 60;
  return `${day.prefix}${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** Most of the log is compact heartbeats with no data: skip the parser for them. */
const parseData = (text: string): unknown => (text === '{}' ? {} : JSON.parse(text));

export function decodeEvent(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    tenantId: row.tenant_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    data: parseData(row.data) as RecordedEvent['data'],
    metadata: decodeMetadata(row.stream_id, row.metadata),
    recordedAt: isoTime(Number(row.recorded_at)),
  };
}

/**
 * The log's pages, read as columns (Database.queryColumnPages) without the join to `streams`: the reader names each
 * stream from its own cache of refs. Every value the driver hands over costs, so a page holds four numbers per event
 * and nothing else. Most of the log is compact heartbeats (`NodeSeen` by the stream's own node, no data): their
 * tenant is their node's and their data `{}`, which the reader restores. Every other event is marked in the page by
 * a negative stream version (versions start at 1), and LOG_DETAIL_COLUMNS bring its tenant, type, data and metadata
 * in a second read of the page's range. The chain's verification reads every column as stored
 * (EVENT_STORED_COLUMNS): what it checks must be what is there.
 */
export const LOG_PAGE_COLUMNS = `position, stream_ref,
  CASE WHEN type = 'NodeSeen' AND metadata = '' THEN stream_version ELSE -stream_version END, recorded_at`;
export const LOG_DETAIL_COLUMNS = 'position, tenant_id, type, data, metadata';
export type LogDetails = [position: number, tenantId: string | null, type: string, data: string, metadata: string];
/** The events of a page that LOG_DETAIL_COLUMNS are read for. */
export const LOG_DETAIL_WHERE = `NOT (type = 'NodeSeen' AND metadata = '')`;
export const EVENT_STORED_COLUMNS = 'position, tenant_id, stream_ref, stream_version, type, data, metadata, recorded_at';
export type StoredValues = [position: number, tenantId: string | null, streamRef: number, streamVersion: number, type: string, data: string,
  metadata: string, recordedAt: number];

/** What the reader knows of the stream a row belongs to. */
export interface StreamOfRow {
  streamId: string;
  /** The tenant of its first event: a node's, for its heartbeats. */
  tenantId: string | null;
}

/** The data of every compact heartbeat: one object, frozen, as nothing may change an event. */
const NO_DATA = Object.freeze({});

/** A row of EVENT_STORED_COLUMNS; `v` may go on with more columns (the hash). */
export function decodeStoredValues(v: readonly [...StoredValues, ...unknown[]], stream: StreamOfRow): RecordedEvent {
  return {
    position: v[0],
    tenantId: v[1],
    streamId: stream.streamId,
    streamVersion: v[3],
    type: v[4],
    data: parseData(v[5]) as RecordedEvent['data'],
    metadata: decodeMetadata(stream.streamId, v[6]),
    recordedAt: isoTime(Number(v[7])),
  };
}

/**
 * A page of LOG_PAGE_COLUMNS as events; `details` are the LOG_DETAIL_COLUMNS of its marked events, in position order.
 * `streamOf` knows every ref of the page.
 */
export function decodeLogPage(page: ColumnPage, details: readonly LogDetails[], streamOf: (ref: number) => StreamOfRow): RecordedEvent[] {
  const [positions, refs, versions, times] = page.columns as Float64Array[];
  const events = new Array<RecordedEvent>(page.length);
  let detail = 0;
  for (let i = 0; i < page.length; i++) {
    const stream = streamOf(refs[i]);
    const version = versions[i];
    if (version > 0) {
      events[i] = {
        position: positions[i], tenantId: stream.tenantId, streamId: stream.streamId, streamVersion: version, type: 'NodeSeen',
        data: NO_DATA as RecordedEvent['data'], metadata: decodeMetadata(stream.streamId, SELF), recordedAt: isoTime(times[i]),
      };
      continue;
    }
    const row = details[detail++];
    if (row?.[0] !== positions[i]) throw new Error(`the log changed under its reader at position ${positions[i]}`);
    events[i] = {
      position: positions[i], tenantId: row[1], streamId: stream.streamId, streamVersion: -version, type: row[2],
      data: parseData(row[3]) as RecordedEvent['data'], metadata: decodeMetadata(stream.streamId, row[4]), recordedAt: isoTime(times[i]),
    };
  }
  return events;
}

/**
 * The columns readers of one stream select (its name comes from `streams`). Readers of events leave the hash out:
 * fetching it is most of a compact event's read cost, and only the chain's verification needs it.
 */
export const EVENT_COLUMNS = `e.position, e.tenant_id, s.stream_id, e.stream_version, e.type, e.data, e.metadata, e.recorded_at`;
export const EVENTS_FROM = `events e JOIN streams s ON s.ref = e.stream_ref`;
