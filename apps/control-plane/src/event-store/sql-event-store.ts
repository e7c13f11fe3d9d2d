import type { RecordedEvent } from '@meshgate/domain';
import { Database, StorageFaultError, Transaction, UniqueViolationError } from '../storage/database.port';
import { ConcurrencyError } from './concurrency.error';
import {
  decodeEvent, decodeLogPage, decodeStoredValues, encodeMetadata, EVENT_COLUMNS, EVENT_STORED_COLUMNS, EventRow, EVENTS_FROM, LOG_DETAIL_COLUMNS,
  LOG_DETAIL_WHERE, LOG_PAGE_COLUMNS, LogDetails, StoredValues, StreamOfRow,
} from './event-codec';
import { AppendRequest, CommitParticipant, EventStore, HashedEvent } from './event-store.port';
import { chainHash, GENESIS_HASH } from './hash-chain';

interface Pending {
  request: AppendRequest;
  resolve: (events: RecordedEvent[]) => void;
  reject: (error: unknown) => void;
}

interface BatchOutcome {
  accepted: { pending: Pending; events: RecordedEvent[] }[];
  rejected: { pending: Pending; error: unknown }[];
  /** Streams the transaction created, learnt once it commits. */
  newRefs: [string, number][];
}

/** An unguarded batch met a failure only a savepoint could have undone: rolled back, it is written again guarded. */
class UndoNeeded extends Error {}

export interface SqlEventStoreOptions {
  clock?: () => Date;
  /** How long a batch may wait for more appends to join it (0: the next turn of the event loop). */
  maxWaitMs?: number;
}

/**
 * Rows per read of the log. Small on purpose: a page's events die young; pages of 10,000 outlived the young
 * generation, and replay spent three times as long in the collector.
 */
const PAGE = 1_000;
const STREAM_KEY = 'events(stream_ref,stream_version)';

/**
 * The append-only log over either store, with group commit: appends that arrive while a transaction is being written
 * wait and are written together in the next one — each request's events and inline projections — and one request's
 * conflict or failure fails that request alone (commitBatch: savepoints only when a failure needs one). Positions
 * and the chain head come from the `chain_head` row, locked by the transaction's first statement: appends from every
 * replica form one chain, and positions become visible in order. A request's promise settles only after its
 * transaction has committed and the participant has seen the commit (so the replica that acknowledged a write can
 * read it at once).
 */
export class SqlEventStore implements EventStore {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private participant: CommitParticipant | null = null;
  /** Stream name → its small integer reference in `streams`; refs never change once assigned. */
  private readonly streamRefs = new Map<string, number>();
  /** Ref → the stream, for reads of the log by position. */
  private readonly streamsByRef = new Map<number, StreamOfRow>();
  private storageFull: number | null = null;
  private readonly clock: () => Date;
  private readonly maxWaitMs: number;

  constructor(private readonly db: Database, options: SqlEventStoreOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.maxWaitMs = options.maxWaitMs ?? 0;
  }

  setParticipant(participant: CommitParticipant): void {
    this.participant = participant;
  }

  /** When the last write failed for lack of space, if none has committed since (readiness reports it). */
  storageFullSince(): number | null {
    return this.storageFull;
  }

  append(request: AppendRequest): Promise<RecordedEvent[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate runs after pending I/O callbacks: requests parsed in this loop turn join the same transaction.
    const run = () => { this.scheduled = false; void this.flush(); };
    if (this.maxWaitMs > 0) setTimeout(run, this.maxWaitMs);
    else setImmediate(run);
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.flushing = true;
    try {
      await this.writeBatch(batch);
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const recordedAt = this.clock();
    let outcome: BatchOutcome;
    try {
      outcome = await this.commitBatch(batch, recordedAt, false).catch((error: unknown) => {
        if (error instanceof UndoNeeded) return this.commitBatch(batch, recordedAt, true);
        throw error;
      });
    } catch (error) {
      if (error instanceof StorageFaultError && error.reason === 'full') this.storageFull = Date.now();
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.storageFull = null;
    for (const [name, ref] of outcome.newRefs) this.streamRefs.set(name, ref);
    const all = outcome.accepted.flatMap((a) => a.events);
    try {
      await this.participant?.afterCommit(all, batch.length);
    } finally {
      // Committed is committed: a failing read model never turns an acknowledged write into an error.
      for (const { pending, events } of outcome.accepted) pending.resolve(events);
      for (const { pending, error } of outcome.rejected) pending.reject(error);
    }
  }

  /**
   * One transaction for the batch. Guarded, each request is written in a savepoint, so that a request that fails
   * after writing is undone alone. Unguarded (the first try) there are no savepoints, a round trip per request fewer
   * on PostgreSQL: a request refused by its version check before it wrote anything is simply left out, and any other
   * failure (PostgreSQL aborts the whole transaction on an error) rolls the batch back for a guarded try.
   */
  private async commitBatch(batch: Pending[], recordedAt: Date, guarded: boolean): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { accepted: [], rejected: [], newRefs: [] };
    await this.db.transaction(async (tx) => {
      const head = (await tx.one<{ position: number; hash: Buffer | string }>(
        'UPDATE chain_head SET position = position WHERE id = 1 RETURNING position, hash'))!;
      const chain = { position: head.position, hash: toHex(head.hash) };
      for (const pending of batch) {
        const saved = { ...chain, refs: outcome.newRefs.length };
        const progress = { wrote: false };
        try {
          const write = () => this.writeRequest(tx, pending.request, chain, outcome.newRefs, recordedAt, progress);
          outcome.accepted.push({ pending, events: guarded ? await tx.savepoint(write) : await write() });
        } catch (error) {
          Object.assign(chain, { position: saved.position, hash: saved.hash });
          outcome.newRefs.length = saved.refs;
          if (error instanceof StorageFaultError) throw error; // the database itself failed: the batch with it
          if (!guarded && !(error instanceof ConcurrencyError && !progress.wrote)) throw new UndoNeeded();
          outcome.rejected.push({ pending, error: translate(error) });
        }
      }
      if (outcome.accepted.length > 0) {
        await tx.execute('UPDATE chain_head SET position = ?, hash = ? WHERE id = 1', [chain.position, Buffer.from(chain.hash, 'hex')]);
        await this.participant?.beforeCommit(tx, chain.position);
        await tx.announce(chain.position);
      }
    });
    return outcome;
  }

  /** One request's events and inline projections, advancing the chain; `progress.wrote` once it has written anything. */
  private async writeRequest(
    tx: Transaction, request: AppendRequest, chain: { position: number; hash: string }, newRefs: [string, number][], recordedAt: Date,
    progress: { wrote: boolean },
  ): Promise<RecordedEvent[]> {
    const written: RecordedEvent[] = [];
    for (const stream of request.streams) {
      const { ref, created } = await this.streamRef(tx, stream.streamId, newRefs);
      if (created) progress.wrote = true;
      // A stream this statement created holds no events yet: no version to read.
      const actual = created ? 0
        : (await tx.one<{ v: number | null }>('SELECT MAX(stream_version) AS v FROM events WHERE stream_ref = ?', [ref]))?.v ?? 0;
      if (actual !== stream.expectedVersion) throw new ConcurrencyError(stream.streamId, stream.expectedVersion, actual);
      let version = actual;
      for (const event of stream.events) {
        const recorded: RecordedEvent = {
          position: ++chain.position,
          tenantId: stream.tenantId === undefined ? request.tenantId : stream.tenantId,
          streamId: stream.streamId,
          streamVersion: ++version,
          type: event.type,
          data: event.data,
          metadata: request.metadata,
          recordedAt: recordedAt.toISOString(),
        };
        chain.hash = chainHash(chain.hash, recorded);
        progress.wrote = true;
        await tx.execute(
          `INSERT INTO events (position, tenant_id, stream_ref, stream_version, type, data, metadata, recorded_at, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [recorded.position, recorded.tenantId, ref, recorded.streamVersion, recorded.type, JSON.stringify(recorded.data),
            encodeMetadata(recorded.streamId, recorded.metadata), recordedAt.getTime(), Buffer.from(chain.hash, 'hex')],
        );
        written.push(recorded);
      }
    }
    progress.wrote = true;
    await this.participant?.applyInTransaction(tx, written);
    return written;
  }

  /** The stream's reference, inserted on its first append (a lost race with another replica finds the winner's). */
  private async streamRef(tx: Transaction, streamId: string, newRefs: [string, number][]): Promise<{ ref: number; created: boolean }> {
    const known = this.streamRefs.get(streamId) ?? newRefs.find(([name]) => name === streamId)?.[1];
    if (known !== undefined) return { ref: known, created: false };
    const inserted = await tx.one<{ ref: number }>('INSERT INTO streams (stream_id) VALUES (?) ON CONFLICT (stream_id) DO NOTHING RETURNING ref', [streamId]);
    const ref = inserted?.ref ?? (await tx.one<{ ref: number }>('SELECT ref FROM streams WHERE stream_id = ?', [streamId]))!.ref;
    newRefs.push([streamId, ref]);
    return { ref, created: inserted !== undefined };
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE s.stream_id = ? ORDER BY e.stream_version`, [streamId]);
    return rows.map(decodeEvent);
  }

  async *readAll(after: number, until?: number): AsyncIterable<RecordedEvent> {
    for await (const page of this.readPages(after, until)) yield* page;
  }

  async *readPages(after: number, until = Number.MAX_SAFE_INTEGER): AsyncIterable<readonly RecordedEvent[]> {
    let from = after;
    const sql = `SELECT ${LOG_PAGE_COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position`;
    for await (const page of this.db.queryColumnPages(sql, after, until, PAGE)) {
      const [positions, refs, versions] = page.columns as Float64Array[];
      const to = positions[page.length - 1];
      const details = versions.some((version) => version < 0)
        ? await this.db.queryValues<LogDetails>(
          `SELECT ${LOG_DETAIL_COLUMNS} FROM events WHERE position > ? AND position <= ? AND ${LOG_DETAIL_WHERE} ORDER BY position`, [from, to])
        : [];
      from = to;
      await this.learnStreams(refs);
      yield decodeLogPage(page, details, (ref) => this.streamsByRef.get(ref)!);
    }
  }

  /** Every column as stored, with its hash: what the export shows and the chain's verification checks must be what is there. */
  async *readHashedPages(after: number): AsyncIterable<readonly HashedEvent[]> {
    let from = after;
    for (;;) {
      const rows = await this.db.queryValues<[...StoredValues, Buffer | string]>(
        `SELECT ${EVENT_STORED_COLUMNS}, hash FROM events WHERE position > ? ORDER BY position LIMIT ${PAGE}`, [from]);
      if (rows.length === 0) return;
      await this.learnStreams(rows.map((row) => row[2]));
      yield rows.map((row) => ({ ...decodeStoredValues(row, this.streamsByRef.get(row[2])!), hash: toHex(row[8]) }));
      from = rows[rows.length - 1][0];
    }
  }

  /** Learns the refs of a page that this process has not met yet (streams other replicas created, or all at start). */
  private async learnStreams(refs: ArrayLike<number>): Promise<void> {
    const unknown = new Set<number>();
    for (let i = 0; i < refs.length; i++) if (!this.streamsByRef.has(refs[i])) unknown.add(refs[i]);
    const missing = [...unknown];
    for (let i = 0; i < missing.length; i += 500) {
      const chunk = missing.slice(i, i + 500);
      const found = await this.db.query<{ ref: number; stream_id: string; tenant_id: string | null }>(
        `SELECT s.ref, s.stream_id, (SELECT e.tenant_id FROM events e WHERE e.stream_ref = s.ref ORDER BY e.stream_version LIMIT 1) AS tenant_id
         FROM streams s WHERE s.ref IN (${chunk.map(() => '?').join(', ')})`, chunk);
      for (const { ref, stream_id, tenant_id } of found) {
        this.streamsByRef.set(ref, { streamId: stream_id, tenantId: tenant_id });
        this.streamRefs.set(stream_id, ref);
      }
    }
  }

  async head(): Promise<{ position: number; hash: string }> {
    const row = (await this.db.one<{ position: number; hash: Buffer | string }>('SELECT position, hash FROM chain_head WHERE id = 1'))!;
    return { position: row.position, hash: toHex(row.hash) };
  }

  async hashAt(position: number): Promise<string | null> {
    if (position === 0) return GENESIS_HASH;
    const row = await this.db.one<{ hash: Buffer | string }>('SELECT hash FROM events WHERE position = ?', [position]);
    return row ? toHex(row.hash) : null;
  }

  async verifyChain(from: { position: number; hash: string } = { position: 0, hash: GENESIS_HASH }): Promise<number | null> {
    let hash = from.hash;
    let expected = from.position;
    for await (const page of this.readHashedPages(from.position)) {
      for (const event of page) {
        // A gap is a deleted event as surely as a wrong hash is an altered one.
        if (event.position !== ++expected) return expected;
        const { hash: stored, ...recorded } = event;
        hash = chainHash(hash, recorded);
        if (hash !== stored) return event.position;
      }
    }
    const head = await this.head();
    return head.position === expected && head.hash === hash ? null : expected + 1;
  }
}

function toHex(hash: Buffer | string): string {
  return typeof hash === 'string' ? hash : hash.toString('hex');
}

/** A lost race on a stream's version is a 409 the caller may retry. */
function translate(error: unknown): unknown {
  if (error instanceof UniqueViolationError && error.key === STREAM_KEY) return new ConcurrencyError('?', -1, -1);
  return error;
}
