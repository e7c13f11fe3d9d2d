/**
 * The small synchronous SQL surface projections and the event store write through. The SQLite adapter implements it
 * over better-sqlite3; the SQL that goes through it is portable (INSERT … ON CONFLICT, no pragmas, no triggers).
 */
export interface SqlRunner {
  run(sql: string, params?: readonly unknown[]): { changes: number };
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): T | undefined;
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): T[];
  /** Iterates rows without materialising them all (replay of a million events). */
  iterate<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): IterableIterator<T>;
  /** Runs fn in one transaction; nested calls become savepoints. */
  transaction<T>(fn: () => T): T;
}

export const SQL_RUNNER = Symbol('SQL_RUNNER');
