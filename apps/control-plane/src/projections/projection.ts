import type { RecordedEvent } from '@meshgate/domain';
import { SqlRunner } from '../database/sql.port';

/**
 * A read model built from the log. `apply` must be a deterministic function of the events (no clock, no randomness):
 * replaying from position 0 has to rebuild exactly the same tables.
 */
export interface Projection {
  readonly name: string;
  /** Its tables, in the order they are emptied for a rebuild and compared by `npm run replay`. */
  readonly tables: readonly string[];
  /** Restores in-memory state from its tables (start-up, or after a failed transaction). */
  load(sql: SqlRunner): void;
  apply(event: RecordedEvent, sql: SqlRunner): void;
  /** Writes what apply changed in memory; runs inside the same transaction as the events and checkpoint. */
  flush(sql: SqlRunner): void;
  /** The transaction committed: publish what it changed. */
  afterCommit?(): void;
}
