import type { RecordedEvent } from '@meshgate/domain';
import { SqlRunner } from '../database/sql.port';
import { ConcurrencyError } from './concurrency.error';
import { AppendRequest, CommitParticipant, EventStore } from './event-store.port';
import { chainHash, GENESIS_HASH } from './hash-chain';

interface Pending {
  request: AppendRequest;
  resolve: (events: RecordedEvent[]) => void;
  reject: (error: unknown) => void;
}

interface EventRow {
  position: number;
  tenant_id: string | null;
  stream_id: string;
  stream_version: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
  hash: string;
}

/** Metadata repeats (one actor sends many heartbeats): parse each distinct string once per page. */
const metadataCache = new Map<string, RecordedEvent['metadata']>();
function parseMetadata(text: string): RecordedEvent['metadata'] {
  let parsed = metadataCache.get(text);
  if (!parsed) {
    if (metadataCache.size > 10_000) metadataCache.clear();
    metadataCache.set(text, (parsed = JSON.parse(text) as RecordedEvent['metadata']));
  }
  return parsed;
}

const toRecorded = (row: EventRow): RecordedEvent => ({
  position: row.position,
  tenantId: row.tenant_id,
  streamId: row.stream_id,
  streamVersion: row.stream_version,
  type: row.type,
  data: JSON.parse(row.data),
  metadata: parseMetadata(row.metadata),
  recordedAt: row.recorded_at,
});

/**
 * The append-only log on SQLite with group commit: appends that arrive while a transaction is being written wait
 * and are written together in the next one, each inside its own savepoint so that one request's conflict does not
 * fail its neighbours. A request's promise settles only after its transaction has committed.
 */
export class SqliteEventStore implements EventStore {
  private queue: Pending[] = [];
  private scheduled = false;
  private lastPosition: number;
  private lastHash: string;
  private participant: CommitParticipant | null = null;

  constructor(
    private readonly sql: SqlRunner,
    private readonly clock: () => Date = () => new Date(),
    private readonly maxWaitMs = 0,
    private readonly onCommitted: (events: readonly RecordedEvent[], batchSize: number) => void = () => undefined,
  ) {
    const last = sql.get<{ position: number; hash: string }>('SELECT position, hash FROM events ORDER BY position DESC LIMIT 1');
    this.lastPosition = last?.position ?? 0;
    this.lastHash = last?.hash ?? GENESIS_HASH;
  }

  setParticipant(participant: CommitParticipant): void {
    this.participant = participant;
  }

  append(request: AppendRequest): Promise<RecordedEvent[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after pending I/O callbacks: requests parsed in this loop turn join the same transaction.
        if (this.maxWaitMs > 0) setTimeout(() => this.flush(), this.maxWaitMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const accepted: { pending: Pending; events: RecordedEvent[] }[] = [];
    const rejected: { pending: Pending; error: unknown }[] = [];
    let position = this.lastPosition;
    let hash = this.lastHash;
    const recordedAt = this.clock().toISOString();
    let all: RecordedEvent[] = [];
    try {
      this.sql.transaction(() => {
        for (const pending of batch) {
          const savedPosition = position;
          const savedHash = hash;
          try {
            const events = this.sql.transaction(() => {
              const written: RecordedEvent[] = [];
              for (const stream of pending.request.streams) {
                const actual = this.streamVersion(stream.streamId);
                if (actual !== stream.expectedVersion) throw new ConcurrencyError(stream.streamId, stream.expectedVersion, actual);
                let version = actual;
                for (const event of stream.events) {
                  const recorded: RecordedEvent = {
                    position: ++position,
                    tenantId: pending.request.tenantId,
                    streamId: stream.streamId,
                    streamVersion: ++version,
                    type: event.type,
                    data: event.data,
                    metadata: pending.request.metadata,
                    recordedAt,
                  };
                  hash = chainHash(hash, recorded);
                  this.insert(recorded, hash);
                  written.push(recorded);
                }
              }
              return written;
            });
            accepted.push({ pending, events });
          } catch (error) {
            position = savedPosition;
            hash = savedHash;
            rejected.push({ pending, error: translateSqlError(error) });
          }
        }
        all = accepted.flatMap((a) => a.events);
        this.participant?.applyInTransaction(all);
      });
    } catch (error) {
      this.participant?.afterRollback();
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.lastPosition = position;
    this.lastHash = hash;
    for (const { pending, events } of accepted) pending.resolve(events);
    for (const { pending, error } of rejected) pending.reject(error);
    this.onCommitted(all, batch.length);
    this.participant?.afterCommit();
  }

  private streamVersion(streamId: string): number {
    return this.sql.get<{ v: number | null }>('SELECT MAX(stream_version) AS v FROM events WHERE stream_id = ?', [streamId])?.v ?? 0;
  }

  private insert(e: RecordedEvent, hash: string): void {
    this.sql.run(
      `INSERT INTO events (position, tenant_id, stream_id, stream_version, type, data, metadata, recorded_at, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [e.position, e.tenantId, e.streamId, e.streamVersion, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), e.recordedAt, hash],
    );
  }

  readStream(streamId: string): RecordedEvent[] {
    return this.sql
      .all<EventRow>('SELECT * FROM events WHERE stream_id = ? ORDER BY stream_version', [streamId])
      .map(toRecorded);
  }

  *readAll(after: number): IterableIterator<RecordedEvent> {
    // Paged so that a reader never holds one statement open across writes of its own.
    let from = after;
    for (;;) {
      const rows = this.sql.all<EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT 10000', [from]);
      if (rows.length === 0) return;
      for (const row of rows) yield toRecorded(row);
      from = rows[rows.length - 1].position;
    }
  }

  verifyChain(): number | null {
    let hash = GENESIS_HASH;
    for (const row of this.sql.iterate<EventRow>('SELECT * FROM events ORDER BY position')) {
      hash = chainHash(hash, toRecorded(row));
      if (hash !== row.hash) return row.position;
    }
    return null;
  }
}

/** A UNIQUE(stream_id, stream_version) violation means a concurrent writer won the race. */
function translateSqlError(error: unknown): unknown {
  if (error instanceof Error && /UNIQUE constraint failed: events\.stream_id/.test(error.message)) {
    return new ConcurrencyError('?', -1, -1);
  }
  return error;
}
