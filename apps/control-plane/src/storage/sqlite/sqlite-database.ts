import BetterSqlite3, { Database as Connection, Statement } from 'better-sqlite3';
import { DataSource } from 'typeorm';
import type { ColumnPage } from '../column-page';
import { Database, Leadership, SqlExecutor, StorageFaultError, Transaction, UniqueViolationError } from '../database.port';
import { SqliteReaderThread } from './sqlite-reader-thread';
import { SQLITE_MIGRATIONS } from './sqlite-migrations';

const BUSY_RETRY_MS = 25;

/** Prepared statements of one connection, cached by their text. */
class Statements {
  private readonly cache = new Map<string, Statement>();
  private readonly rawCache = new Map<string, Statement>();
  constructor(readonly connection: Connection) {}
  get(sql: string): Statement {
    let statement = this.cache.get(sql);
    if (!statement) this.cache.set(sql, (statement = this.connection.prepare(sql)));
    return statement;
  }
  /** The same, answering rows as value arrays (raw mode is a statement's setting, hence a cache of its own). */
  raw(sql: string): Statement {
    let statement = this.rawCache.get(sql);
    if (!statement) this.rawCache.set(sql, (statement = this.connection.prepare(sql).raw(true)));
    return statement;
  }
}

function translate(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: events.stream_id, events.stream_version" → "events(stream_id,stream_version)"
    const columns = (error as Error).message.replace(/^.*failed: /, '').split(', ');
    const table = columns[0].split('.')[0];
    return new UniqueViolationError(`${table}(${columns.map((c) => c.split('.')[1]).join(',')})`);
  }
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') return new StorageFaultError('busy');
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) return new StorageFaultError('full', code);
  return error;
}

function run<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw translate(error);
  }
}

class SqliteExecutor implements SqlExecutor {
  constructor(protected readonly statements: Statements) {}
  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return run(() => this.statements.get(sql).all(...params) as T[]);
  }
  async one<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return run(() => this.statements.get(sql).get(...params) as T | undefined);
  }
  async queryValues<T extends unknown[]>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return run(() => this.statements.raw(sql).all(...params) as T[]);
  }
  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return run(() => this.statements.get(sql).run(...params).changes);
  }
}

class SqliteTransaction extends SqliteExecutor implements Transaction {
  private depth = 0;
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    // Every append of a group commit is a savepoint: prepared once, not parsed again each time (exec would).
    const name = `sp${++this.depth}`;
    this.statements.get(`SAVEPOINT ${name}`).run();
    try {
      const result = await fn();
      this.statements.get(`RELEASE ${name}`).run();
      return result;
    } catch (error) {
      this.statements.get(`ROLLBACK TO ${name}`).run();
      this.statements.get(`RELEASE ${name}`).run();
      throw error;
    } finally {
      this.depth--;
    }
  }
  async announce(): Promise<void> {
    // One process serves a SQLite file: there is no other replica to tell.
  }
}

/**
 * SQLite through better-sqlite3: one connection writes (transactions BEGIN IMMEDIATE, one at a time), another reads,
 * so that a read never sees a transaction that is still open, and a third on its own thread reads the log's large
 * pages (SqliteReaderThread). WAL lets the readers go on during a commit.
 */
export class SqliteDatabase extends SqliteExecutor implements Database {
  readonly dialect = 'sqlite';
  private readonly writer: Statements;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dataSource: DataSource, write: Connection, read: Connection, private readonly reader: SqliteReaderThread,
    private readonly busyWaitMs: number,
  ) {
    super(new Statements(read));
    this.writer = new Statements(write);
  }

  static async open(path: string, options: { busyWaitMs?: number } = {}): Promise<SqliteDatabase> {
    const dataSource = new DataSource({
      type: 'better-sqlite3',
      database: path,
      migrations: SQLITE_MIGRATIONS,
      migrationsRun: false,
      // synchronous=FULL makes every commit durable before any request in it is answered (group commit amortises
      // the fsync). busy_timeout is short on purpose: it blocks the event loop; waiting happens in transaction().
      prepareDatabase: (db: Connection) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.pragma('foreign_keys = ON');
        db.pragma('busy_timeout = 10');
        db.pragma('cache_size = -65536');
      },
    });
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    const write = (dataSource.driver as unknown as { databaseConnection: Connection }).databaseConnection;
    const read = new BetterSqlite3(path, { fileMustExist: true });
    read.pragma('busy_timeout = 1000');
    return new SqliteDatabase(dataSource, write, read, new SqliteReaderThread(path), options.busyWaitMs ?? 5_000);
  }

  /** On the reader thread, ahead of the caller: a page per run of the query, from the last row of the page before. */
  async *queryColumnPages(sql: string, after: number, until: number, pageRows: number): AsyncIterable<ColumnPage> {
    try {
      yield* this.reader.pages(`${sql} LIMIT ${pageRows}`, after, until);
    } catch (error) {
      throw translate(error);
    }
  }

  /** The raw write connection, for the adapter's own tools (migrate-store, tests). */
  get connection(): Connection {
    return this.writer.connection;
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.runTransaction(fn));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async runTransaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    await this.begin();
    const connection = this.writer.connection;
    try {
      const result = await fn(new SqliteTransaction(this.writer));
      run(() => connection.exec('COMMIT'));
      return result;
    } catch (error) {
      if (connection.inTransaction) connection.exec('ROLLBACK');
      throw error;
    }
  }

  /** BEGIN IMMEDIATE takes the write lock before anything is done; a lock held elsewhere is waited for, bounded. */
  private async begin(): Promise<void> {
    const started = Date.now();
    for (;;) {
      try {
        run(() => this.writer.connection.exec('BEGIN IMMEDIATE'));
        return;
      } catch (error) {
        if (!(error instanceof StorageFaultError && error.reason === 'busy') || Date.now() - started >= this.busyWaitMs) throw error;
        await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
      }
    }
  }

  async onAnnounce(): Promise<void> {
    // Single process: every commit is local, and the store feeds views from it directly.
  }

  async leadership(): Promise<Leadership> {
    return { isLeader: () => true, onAcquired: (listener) => listener(), release: async () => undefined };
  }

  async close(): Promise<void> {
    await this.tail;
    await this.reader.close();
    this.statements.connection.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
