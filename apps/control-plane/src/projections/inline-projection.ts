import type { RecordedEvent } from '@meshgate/domain';
import { SqlExecutor } from '../storage/database.port';

/**
 * A projection written inside the append transaction: its tables commit with the events they reflect, so a unique
 * index can refuse a duplicate (a 409 for that request alone) and an acknowledged write is readable at once from any
 * replica. `apply` must be a deterministic function of the events (no clock, no randomness): replaying from
 * position 0 rebuilds exactly the same tables.
 */
export interface InlineProjection {
  readonly name: string;
  /** Its tables, in the order they are emptied for a rebuild and compared by `npm run replay --full`. */
  readonly tables: readonly string[];
  apply(event: RecordedEvent, sql: SqlExecutor): Promise<void>;
}
