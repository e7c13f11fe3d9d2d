import type { Actor, Event, RecordedEvent } from '@meshgate/domain';
import { Transaction } from '../storage/database.port';

export interface StreamAppend {
  streamId: string;
  /** The version the decider saw; 0 for a new stream. A mismatch is a ConcurrencyError (409). */
  expectedVersion: number;
  events: readonly Event[];
  /** The tenant its events belong to when not the request's (a registration joining the tenants that invited it). */
  tenantId?: string | null;
}

/** One command's worth of events: all its streams are written atomically, or none. */
export interface AppendRequest {
  tenantId: string | null;
  streams: readonly StreamAppend[];
  metadata: { actor: Actor; correlationId?: string; requestId?: string };
}

/**
 * Inline projections run inside the append transaction (per request, in its savepoint, so a refusal there fails that
 * request alone); views and reactors are fed after the commit, before any request in it is answered.
 */
export interface CommitParticipant {
  applyInTransaction(tx: Transaction, events: readonly RecordedEvent[]): Promise<void>;
  /** Every request of the batch is applied; `position` is the last one written (checkpoints). */
  beforeCommit(tx: Transaction, position: number): Promise<void>;
  afterCommit(events: readonly RecordedEvent[], batchSize: number): Promise<void>;
}

/** An event with the chain hash after it, hex. */
export type HashedEvent = RecordedEvent & { hash: string };

export interface EventStore {
  /** Resolves once the events are durable (the transaction holding them has committed). */
  append(request: AppendRequest): Promise<RecordedEvent[]>;
  readStream(streamId: string): Promise<RecordedEvent[]>;
  /**
   * Events with position > after (and ≤ until), in order, read a page at a time: those committed when the read
   * began, and perhaps some committed during it.
   */
  readAll(after: number, until?: number): AsyncIterable<RecordedEvent>;
  /** The same events, a page at a time (a bulk reader's cheaper loop). */
  readPages(after: number, until?: number): AsyncIterable<readonly RecordedEvent[]>;
  /** The same pages with each event's chain hash (the audit export's reader). */
  readHashedPages(after: number): AsyncIterable<readonly HashedEvent[]>;
  setParticipant(participant: CommitParticipant): void;
  /** The last position and its chain hash. */
  head(): Promise<{ position: number; hash: string }>;
  /** The chain hash after the event at `position` (the genesis hash at 0), or null if there is no such event. */
  hashAt(position: number): Promise<string | null>;
  /**
   * Recomputes the hash chain from `from` (default: position 0) to the head; returns the first position that does
   * not verify (altered, missing, or a head that does not match), or null.
   */
  verifyChain(from?: { position: number; hash: string }): Promise<number | null>;
  /** When the last write failed for lack of space, if none has committed since. */
  storageFullSince(): number | null;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
