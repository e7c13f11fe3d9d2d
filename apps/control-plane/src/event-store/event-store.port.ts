import type { Actor, Event, RecordedEvent } from '@meshgate/domain';

export interface StreamAppend {
  streamId: string;
  /** The version the decider saw; 0 for a new stream. A mismatch is a ConcurrencyError (409). */
  expectedVersion: number;
  events: readonly Event[];
}

/** One command's worth of events: all its streams are written atomically, or none. */
export interface AppendRequest {
  tenantId: string | null;
  streams: readonly StreamAppend[];
  metadata: { actor: Actor; correlationId?: string; requestId?: string };
}

/**
 * Runs inside the append transaction, so read models and their checkpoints commit with the events they reflect,
 * and after it, to publish what changed.
 */
export interface CommitParticipant {
  applyInTransaction(events: readonly RecordedEvent[]): void;
  afterCommit(): void;
  /** The transaction failed after applyInTransaction: in-memory state must be reloaded from storage. */
  afterRollback(): void;
}

export interface EventStore {
  /** Resolves once the events are durable (the transaction holding them has committed). */
  append(request: AppendRequest): Promise<RecordedEvent[]>;
  readStream(streamId: string): RecordedEvent[];
  /** Events with position > after, in order, read lazily. */
  readAll(after: number): IterableIterator<RecordedEvent>;
  setParticipant(participant: CommitParticipant): void;
  /** Recomputes the hash chain; returns the first position whose hash does not match, or null. */
  verifyChain(): number | null;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
