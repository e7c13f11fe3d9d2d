import { createHash } from 'node:crypto';
import { Client, Pool, PoolClient, types } from 'pg';
import { DataSource } from 'typeorm';
import { to as copyTo } from 'pg-copy-streams';
import type { ColumnPage } from '../column-page';
import { Database, Leadership, SqlExecutor, StorageFaultError, Transaction, UniqueViolationError } from '../database.port';
import { BinaryCopyPages } from './binary-copy-pages';
import { POSTGRES_MIGRATIONS } from './postgres-migrations';

// BIGINT (positions) as numbers: exact up to 2^53, which no log reaches.
types.setTypeParser(types.builtins.INT8, (value: string) => Number(value));

const CHANNEL = 'meshgate_log';

/** How far a binary COPY of the log reads ahead of the pages being applied (besides what the socket holds). */
const COPY_READ_AHEAD_BYTES = 1 << 20;

/** `?` placeholders, as the portable SQL writes them, numbered the PostgreSQL way; cached per statement text. */
const numbered = new Map<string, string>();
function toPostgres(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    numbered.set(sql, text);
  }
  return text;
}

/**
 * Statements run often are named: PostgreSQL then parses and plans each once per connection, not on every run (a
 * fifth of a heartbeat's cost on one replica). Only hot ones, and a bounded number: text that varies (IN lists of
 * any length) would otherwise leave a prepared statement per variant in every connection.
 */
const NAMED_AFTER_RUNS = 50;
const MOST_NAMED = 256;
const MOST_COUNTED = 10_000;
const runs = new Map<string, number>();
const names = new Map<string, string>();
function statementName(sql: string): string | undefined {
  const known = names.get(sql);
  if (known !== undefined || names.size >= MOST_NAMED) return known;
  const count = (runs.get(sql) ?? 0) + 1;
  if (count < NAMED_AFTER_RUNS) {
    if (runs.size >= MOST_COUNTED) runs.clear();
    runs.set(sql, count);
    return undefined;
  }
  runs.delete(sql);
  const name = `meshgate_${names.size}`;
  names.set(sql, name);
  return name;
}

function translate(error: unknown): unknown {
  const e = error as { code?: string; table?: string; detail?: string } | null;
  const code = e?.code;
  if (code === '23505') {
    // detail: 'Key (tenant_id, name)=(…) already exists.'
    const columns = /Key \(([^)]*)\)/.exec(e!.detail ?? '')?.[1]?.replace(/\s+/g, '') ?? '?';
    return new UniqueViolationError(`${e!.table}(${columns})`);
  }
  if (code === '53100' || code === '53200') return new StorageFaultError('full', code);
  if (code === '55P03' || code === '40P01') return new StorageFaultError('busy', code);
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P01' || code === '57P03' || code?.startsWith('08')) {
    return new StorageFaultError('unavailable', code);
  }
  return error;
}

class PostgresExecutor implements SqlExecutor {
  constructor(protected readonly target: Pool | PoolClient) {}
  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return (await this.target.query({ name: statementName(sql), text: toPostgres(sql), values: params as unknown[] })).rows as T[];
    } catch (error) {
      throw translate(error);
    }
  }
  async one<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params))[0];
  }
  async queryValues<T extends unknown[]>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return (await this.target.query({ name: statementName(sql), text: toPostgres(sql), values: params as unknown[], rowMode: 'array' })).rows as T[];
    } catch (error) {
      throw translate(error);
    }
  }
  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return (await this.target.query({ name: statementName(sql), text: toPostgres(sql), values: params as unknown[] })).rowCount ?? 0;
    } catch (error) {
      throw translate(error);
    }
  }
}

class PostgresTransaction extends PostgresExecutor implements Transaction {
  private savepoints = 0;
  /**
   * A savepoint that succeeded is not released: the transaction's commit keeps its work all the same, and a group
   * commit then costs one round trip per request fewer. The next savepoint nests inside it, which changes nothing,
   * as a later request's rollback never reaches back before its own savepoint.
   */
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoints}`;
    await this.target.query(`SAVEPOINT ${name}`);
    try {
      return await fn();
    } catch (error) {
      await this.target.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw error;
    }
  }
  async announce(position: number): Promise<void> {
    // Delivered by PostgreSQL only when (and if) this transaction commits.
    await this.target.query('SELECT pg_notify($1, $2)', [CHANNEL, String(position)]);
  }
}

/** A 64-bit advisory-lock key for a leadership name. */
function lockKey(name: string): string {
  return createHash('sha256').update(`meshgate:${name}`).digest().readBigInt64BE(0).toString();
}

/**
 * Runs the pending migrations while holding a session advisory lock: replicas deployed at once onto an empty
 * database would otherwise create the same tables at the same time, and all but one fail to start. The others wait,
 * then find nothing pending. `then` runs under the same lock (concurrent GRANTs on one table fail too).
 */
async function migrateExclusively(dataSource: DataSource, url: string, then?: () => Promise<void>): Promise<void> {
  const session = new Client({ connectionString: url });
  await session.connect();
  try {
    await session.query('SELECT pg_advisory_lock($1)', [lockKey('migrations')]);
    await dataSource.runMigrations({ transaction: 'each' });
    await then?.();
  } finally {
    await session.end(); // ending the session releases the lock
  }
}

/**
 * PostgreSQL through TypeORM (migrations, the pool) and pg. Several replicas share one database: their appends
 * serialise on the chain-head row, commits are announced with NOTIFY, and once-per-deployment jobs are led by whoever
 * holds a session advisory lock.
 */
export class PostgresDatabase extends PostgresExecutor implements Database {
  readonly dialect = 'postgres';
  private readonly sessions = new Set<Client>();
  /** Columns of each keyset query read by COPY. */
  private readonly widths = new Map<string, number>();
  private closed = false;

  private constructor(private readonly dataSource: DataSource, pool: Pool, private readonly url: string) {
    super(pool);
  }

  /**
   * Migrates with `migrationUrl` (the schema owner) when given, then serves with `url`. An app role that does not
   * own the schema gets only SELECT and INSERT on the log, so not even a bug of ours can rewrite it.
   */
  static async open(url: string, options: { migrationUrl?: string; poolSize?: number } = {}): Promise<PostgresDatabase> {
    if (options.migrationUrl && options.migrationUrl !== url) {
      const owner = new DataSource({ type: 'postgres', url: options.migrationUrl, migrations: POSTGRES_MIGRATIONS });
      await owner.initialize();
      try {
        await migrateExclusively(owner, options.migrationUrl, async () => {
          const role = new URL(url).username;
          await owner.query(`GRANT SELECT, INSERT ON events, streams TO "${role}"`);
          // Every read-model table, as the migrations left them: a table added by a later migration is granted too.
          const tables = (await owner.query<{ name: string }[]>(
            `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT IN (${OUTSIDE_READ_MODELS.map((t) => `'${t}'`).join(', ')})`,
          )).map((t) => `"${t.name}"`);
          await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${tables.join(', ')} TO "${role}"`);
          await owner.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "${role}"`);
        });
      } finally {
        await owner.destroy();
      }
    }
    const dataSource = new DataSource({
      type: 'postgres', url, migrations: POSTGRES_MIGRATIONS, poolSize: options.poolSize ?? 10,
    });
    await dataSource.initialize();
    if (!options.migrationUrl || options.migrationUrl === url) await migrateExclusively(dataSource, url);
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    return new PostgresDatabase(dataSource, pool, url);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.connection();
    try {
      await client.query('BEGIN');
      const result = await fn(new PostgresTransaction(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw translate(error);
    } finally {
      client.release();
    }
  }

  async onAnnounce(listener: () => void): Promise<void> {
    const connect = async (): Promise<void> => {
      const client = await this.session(() => { if (!this.closed) setTimeout(() => void connect().catch(() => undefined), 1000); });
      client.on('notification', (message) => { if (message.channel === CHANNEL) listener(); });
      await client.query(`LISTEN ${CHANNEL}`);
      listener(); // (re)connected: what was announced while we were away is caught up by position
    };
    await connect();
  }

  /**
   * One binary COPY of the query from `after` on: the server streams the rows, without a round trip per page, each
   * column as 8 bytes, while this process applies the pages before (the socket and the stream's buffer read ahead).
   */
  async *queryColumnPages(sql: string, after: number, until: number, pageRows: number): AsyncIterable<ColumnPage> {
    // COPY takes no parameters: the keyset bounds are written into the text, as the integers they must be.
    if (!Number.isSafeInteger(after) || !Number.isSafeInteger(until)) throw new Error(`a keyset read after ${after} up to ${until}: not integers`);
    const width = await this.widthOf(sql);
    const names = Array.from({ length: width }, (_, i) => `c${i}`);
    const text = `COPY (SELECT ${names.map((c) => `${c}::float8`).join(', ')} FROM (${toPostgres(sql).replace('$1', String(after)).replace('$2', String(until))}) AS p(${names.join(', ')}))
      TO STDOUT (FORMAT binary)`;
    const client = await this.connection();
    const stream = client.query(copyTo(text, { highWaterMark: COPY_READ_AHEAD_BYTES }));
    const pages = new BinaryCopyPages(width, pageRows);
    let finished = false;
    try {
      for await (const chunk of stream) yield* pages.push(chunk as Buffer);
      const last = pages.end();
      if (last) yield last;
      finished = true;
    } catch (error) {
      throw translate(error);
    } finally {
      // A COPY left unread holds its connection mid-protocol: that connection is closed, not handed back to the pool.
      if (!finished) stream.destroy();
      client.release(!finished);
    }
  }

  /** A connection of the pool, for work that spans several statements. */
  private async connection(): Promise<PoolClient> {
    try {
      return await (this.target as Pool).connect();
    } catch (error) {
      throw translate(error);
    }
  }

  private async widthOf(sql: string): Promise<number> {
    let width = this.widths.get(sql);
    if (width === undefined) {
      try {
        width = (await this.target.query(`SELECT * FROM (${toPostgres(sql)}) AS p LIMIT 0`, [0, 0])).fields.length;
      } catch (error) {
        throw translate(error);
      }
      this.widths.set(sql, width);
    }
    return width;
  }

  async leadership(name: string, pollMs: number): Promise<Leadership> {
    let client: Client | null = null;
    let leader = false;
    let timer: NodeJS.Timeout | null = null;
    const listeners: Array<() => void> = [];
    const key = lockKey(name);
    const attempt = async () => {
      try {
        client ??= await this.session(() => { client = null; leader = false; });
        if (!leader) {
          leader = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key])).rows[0].ok;
          if (leader) for (const listener of listeners) listener();
        }
      } catch {
        leader = false;
      }
    };
    await attempt();
    const loop = () => { timer = setTimeout(() => void attempt().finally(() => { if (!this.closed && timer) loop(); }), pollMs); };
    loop();
    return {
      isLeader: () => leader,
      onAcquired: (listener) => {
        listeners.push(listener);
        if (leader) listener();
      },
      release: async () => {
        if (timer) clearTimeout(timer);
        timer = null;
        leader = false;
        if (client) await this.endSession(client);
      },
    };
  }

  /** A dedicated connection (LISTEN and advisory locks live in a session, not in the pool). */
  private async session(onLost: () => void): Promise<Client> {
    const client = new Client({ connectionString: this.url });
    client.on('error', () => undefined);
    client.on('end', () => { this.sessions.delete(client); onLost(); });
    await client.connect();
    this.sessions.add(client);
    return client;
  }

  private async endSession(client: Client): Promise<void> {
    this.sessions.delete(client);
    client.removeAllListeners('end');
    await client.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const client of [...this.sessions]) await this.endSession(client);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** The log, which the app role may only read and append to, and TypeORM's record of the migrations, which it may not touch. */
const OUTSIDE_READ_MODELS = ['events', 'streams', 'migrations'];
