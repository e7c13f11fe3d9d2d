import type { ColumnPage } from './column-page';

/**
 * The one SQL surface the control plane writes through, the same on SQLite and PostgreSQL. SQL passed here is
 * portable: `?` placeholders (the PostgreSQL adapter numbers them), `INSERT … ON CONFLICT`, `UPDATE … RETURNING`,
 * integers for booleans, JSON as TEXT. Only the two adapter folders (`sqlite/`, `postgres/`) know their dialect.
 */
export interface SqlExecutor {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  one<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Rows as arrays of their values in the select list's order: no object per row, for the log's large reads. */
  queryValues<T extends unknown[] = unknown[]>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** A write transaction. Writes are serialised on the database: one transaction holds the write lock at a time. */
export interface Transaction extends SqlExecutor {
  /** Runs fn in a savepoint: if it throws, only its writes are undone and the transaction goes on. */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /** Tells every replica's `onAnnounce` listener, once this transaction commits, that the log grew to `position`. */
  announce(position: number): Promise<void>;
}

/** Held while this process is the one replica that runs a once-per-deployment job. */
export interface Leadership {
  isLeader(): boolean;
  /** Called each time this process becomes the leader (at once, if it already is). */
  onAcquired(listener: () => void): void;
  release(): Promise<void>;
}

export interface Database extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Starts a write transaction (waiting for the write lock as the adapter allows), commits when fn resolves. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` after any replica's announced commit, and after a lost notification channel is back (what was
   * announced meanwhile is then caught up by position). A no-op on SQLite: one process serves the file.
   */
  onAnnounce(listener: () => void): Promise<void>;
  /**
   * The rows of a keyset query in pages of `pageRows`, for the log's largest reads: `sql` takes two parameters, bounds
   * of the first column, and is ordered by it (`… WHERE position > ? AND position <= ? ORDER BY position`): the rows
   * after `after` up to `until` that had committed when the read began (rows committed during it may come too).
   * Every column is a number (never NULL), and comes as a Float64Array. They are read ahead of the caller: on SQLite
   * a page at a time by a thread beside the event loop, on PostgreSQL as one binary COPY that the server streams
   * while this process applies the pages before.
   */
  queryColumnPages(sql: string, after: number, until: number, pageRows: number): AsyncIterable<ColumnPage>;
  /** Competes for a named leadership; on SQLite this process always leads. */
  leadership(name: string, pollMs: number): Promise<Leadership>;
  close(): Promise<void>;
}

export const DATABASE = Symbol('DATABASE');
/** Held by the replica that runs once-per-deployment jobs (offline sweeper, schedule windows, snapshots). */
export const LEADERSHIP = Symbol('LEADERSHIP');

/**
 * A unique index refused a row: another writer (maybe on another replica) took the value first. `key` names it the
 * same way on both stores: `table(column,column)`.
 */
export class UniqueViolationError extends Error {
  constructor(readonly key: string) {
    super(`unique key ${key} is taken`);
    this.name = 'UniqueViolationError';
  }
}

/**
 * The database could not take a write for a reason outside the request: the write lock was held elsewhere longer
 * than the bounded wait (`busy`), the disk is full (`full`), or the server is unreachable (`unavailable`). The API
 * answers 503 with Retry-After; nothing of the request was recorded.
 */
export class StorageFaultError extends Error {
  constructor(readonly reason: 'busy' | 'full' | 'unavailable', detail?: string) {
    super({
      busy: 'the database is busy (another writer holds its lock); nothing was recorded, retry later',
      full: "the control plane's storage is full; nothing was recorded, retry once space has been freed",
      unavailable: 'the database is unavailable; nothing was recorded, retry later',
    }[reason] + (detail ? ` (${detail})` : ''));
    this.name = 'StorageFaultError';
  }

  get retryAfterSeconds(): number {
    return this.reason === 'full' ? 30 : 1;
  }
}
