import type { Database, Statement } from 'better-sqlite3';
import { SqlRunner } from './sql.port';

/** SqlRunner over better-sqlite3, with prepared statements cached by their text. */
export class SqliteRunner implements SqlRunner {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly db: Database) {}

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  run(sql: string, params: readonly unknown[] = []): { changes: number } {
    return this.prepare(sql).run(...params);
  }

  get<T>(sql: string, params: readonly unknown[] = []): T | undefined {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, params: readonly unknown[] = []): T[] {
    return this.prepare(sql).all(...params) as T[];
  }

  iterate<T>(sql: string, params: readonly unknown[] = []): IterableIterator<T> {
    return this.prepare(sql).iterate(...params) as IterableIterator<T>;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
