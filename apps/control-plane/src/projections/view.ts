import type { RecordedEvent } from '@meshgate/domain';

/**
 * An in-memory read model, fed after commit with every event of the log in position order, in every replica. It
 * never writes: it is started from a snapshot (or empty) and replays the tail, so `snapshot` and `restore` must
 * round-trip, and `apply` must be a deterministic function of the events.
 */
export interface View {
  readonly name: string;
  apply(event: RecordedEvent): void;
  /** Plain JSON-serialisable state. */
  snapshot(): unknown;
  /** Replaces all state; `undefined` means empty. */
  restore(state: unknown): void;
}

/** Acts on committed events once the views have applied them (pushes patches, counts): it never decides anything. */
export interface Reactor {
  react(events: readonly RecordedEvent[]): void;
}
