import { Worker } from 'node:worker_threads';
import type { Statement } from 'better-sqlite3';
import { ColumnPage, packColumns } from '../column-page';

/** Pages a cursor reads ahead of its consumer: it keeps reading while the consumer applies the page before. */
const AHEAD = 2;

type Request = { open: number; sql: string; after: number; until: number } | { ack: number } | { close: number };
type Reply = { id: number; page: ColumnPage } | { id: number; error: { message: string; code?: string } };

/**
 * The thread's body. It runs from its source text (an `eval` worker, the same under ts-jest and from dist), so it
 * may use only its parameters and `require`.
 */
function readerThread(pack: typeof packColumns, ahead: number): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const BetterSqlite3 = require(workerData.driver) as typeof import('better-sqlite3');
  const connection = new BetterSqlite3(workerData.path, { readonly: true, fileMustExist: true });
  connection.pragma('busy_timeout = 1000');
  const statements = new Map<string, Statement>();
  const cursors = new Map<number, { sql: string; after: number; until: number; unacked: number }>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = connection.prepare(sql).raw(true)));
    return statement;
  };
  let pumping = false;

  // One page per turn of the thread's loop, so that acks and new cursors are heard in between.
  const pump = () => {
    pumping = false;
    for (const [id, cursor] of cursors) {
      if (cursor.unacked >= ahead) continue;
      try {
        const page = pack(prepared(cursor.sql).all(cursor.after, cursor.until) as unknown[][]);
        cursor.unacked++;
        if (page.length === 0) cursors.delete(id);
        else cursor.after = (page.columns[0] as ArrayLike<number>)[page.length - 1];
        const moved = page.columns.filter((column): column is Float64Array => column instanceof Float64Array).map((column) => column.buffer as ArrayBuffer);
        parentPort!.postMessage({ id, page }, moved);
      } catch (error) {
        cursors.delete(id);
        const { message, code } = error as { message?: string; code?: string };
        parentPort!.postMessage({ id, error: { message: String(message ?? error), code } });
      }
    }
    schedule();
  };
  const schedule = () => {
    if (pumping || ![...cursors.values()].some((cursor) => cursor.unacked < ahead)) return;
    pumping = true;
    setImmediate(pump);
  };

  parentPort!.on('message', (request: Request) => {
    if ('open' in request) {
      cursors.set(request.open, { sql: request.sql, after: request.after, until: request.until, unacked: 0 });
    } else if ('ack' in request) {
      const cursor = cursors.get(request.ack);
      if (cursor) cursor.unacked--;
    } else {
      cursors.delete(request.close);
    }
    schedule();
  });
}

interface Consumer {
  pages: ColumnPage[];
  error: Error | null;
  wake: (() => void) | null;
}

/**
 * A read-only connection on a thread of its own, for the log's large reads: better-sqlite3 is synchronous, and
 * handing rows to JavaScript is half of a replay's cost. Here it runs beside the event loop, reading ahead while the
 * caller applies the page before. WAL lets it read during a commit; like the main reader it sees committed rows only.
 */
export class SqliteReaderThread {
  private readonly worker: Worker;
  private readonly consumers = new Map<number, Consumer>();
  private lastId = 0;
  private gone: Error | null = null;

  constructor(path: string) {
    this.worker = new Worker(`(${readerThread})(${packColumns}, ${AHEAD})`, {
      eval: true, workerData: { path, driver: require.resolve('better-sqlite3') },
    });
    // Keeps the process alive only while a cursor is open.
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const consumer = this.consumers.get(reply.id);
      if (!consumer) return; // closed meanwhile
      if ('page' in reply) consumer.pages.push(reply.page);
      else consumer.error = Object.assign(new Error(reply.error.message), { code: reply.error.code });
      consumer.wake?.();
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the SQLite reader thread exited (${code})`)));
  }

  /** The pages of a keyset query that names its page size (`… LIMIT n`; see Database.queryColumnPages). */
  async *pages(sql: string, after: number, until: number): AsyncIterable<ColumnPage> {
    if (this.gone) throw this.gone;
    const id = ++this.lastId;
    const consumer: Consumer = { pages: [], error: null, wake: null };
    if (this.consumers.size === 0) this.worker.ref();
    this.consumers.set(id, consumer);
    this.worker.postMessage({ open: id, sql, after, until } satisfies Request);
    let done = false;
    try {
      for (;;) {
        while (consumer.pages.length === 0 && !consumer.error) await new Promise<void>((wake) => (consumer.wake = wake));
        consumer.wake = null;
        const page = consumer.pages.shift();
        if (!page) throw consumer.error!;
        if (page.length === 0) {
          done = true;
          return;
        }
        this.worker.postMessage({ ack: id } satisfies Request);
        yield page;
      }
    } finally {
      this.consumers.delete(id);
      if (this.consumers.size === 0) this.worker.unref();
      if (!done && !this.gone) this.worker.postMessage({ close: id } satisfies Request);
    }
  }

  async close(): Promise<void> {
    this.gone ??= new Error('the database is closed');
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.gone ??= error;
    for (const consumer of this.consumers.values()) {
      consumer.error ??= this.gone;
      consumer.wake?.();
    }
  }
}
