/**
 * Looks into a store from outside the servers using it (its own connection): how many bytes the log takes on disk,
 * where its head is, which event types a range of positions holds.
 *
 * "The log" is the `events` table with its indexes plus `streams` (the stream names events refer to): everything an
 * appended event adds to. SQLite: the pages dbstat counts for those tables and indexes (a page is counted whole,
 * free space inside it included); PostgreSQL: pg_total_relation_size (heap, indexes, TOAST, free-space and
 * visibility maps) after VACUUM and CHECKPOINT. `total` is the whole database: SQLite's file plus WAL after a
 * TRUNCATE checkpoint, PostgreSQL's pg_database_size.
 */
import { statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';

export interface LogUsage {
  /** events + its indexes + streams + its index, in bytes. */
  log: number;
  /** The whole database, in bytes. */
  total: number;
}

export interface StoreProbe {
  head(): Promise<number>;
  usage(): Promise<LogUsage>;
  /** Bytes of each table and index of the log (after `usage()`). */
  breakdown(): Promise<Record<string, number>>;
  /** Event counts by type for positions in (after, upTo]. */
  typesBetween(after: number, upTo: number): Promise<Record<string, number>>;
  /** Mean length of `data` for positions in (after, upTo]. */
  meanDataBytes(after: number, upTo: number): Promise<number>;
  close(): Promise<void>;
}

export function sqliteProbe(path: string): StoreProbe {
  const db = new BetterSqlite3(path, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const fileBytes = (p: string) => { try { return statSync(p).size; } catch { return 0; } };
  return {
    async head() {
      return (db.prepare('SELECT position FROM chain_head WHERE id = 1').get() as { position: number }).position;
    },
    async usage() {
      // A checkpoint can be held off by a reader of the server for a moment: try a few times.
      for (let i = 0; i < 50; i++) {
        const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        if (result.busy === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const names = (db.prepare(`SELECT name FROM sqlite_schema WHERE tbl_name IN ('events', 'streams') AND type IN ('table', 'index')`).all() as { name: string }[])
        .map((r) => r.name);
      const log = (db.prepare(`SELECT COALESCE(SUM(pgsize), 0) AS bytes FROM dbstat WHERE name IN (${names.map(() => '?').join(', ')})`)
        .get(...names) as { bytes: number }).bytes;
      return { log, total: fileBytes(path) + fileBytes(`${path}-wal`) };
    },
    async breakdown() {
      const rows = db.prepare(`SELECT d.name AS name, SUM(d.pgsize) AS bytes FROM dbstat d JOIN sqlite_schema m ON m.name = d.name
        WHERE m.tbl_name IN ('events', 'streams') GROUP BY d.name ORDER BY bytes DESC`).all() as { name: string; bytes: number }[];
      return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
    },
    async typesBetween(after, upTo) {
      const rows = db.prepare('SELECT type, COUNT(*) AS n FROM events WHERE position > ? AND position <= ? GROUP BY type').all(after, upTo) as { type: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.type, r.n]));
    },
    async meanDataBytes(after, upTo) {
      return (db.prepare('SELECT AVG(LENGTH(CAST(data AS BLOB))) AS n FROM events WHERE position > ? AND position <= ?').get(after, upTo) as { n: number | null }).n ?? 0;
    },
    async close() {
      db.close();
    },
  };
}

/** `url` must be a superuser's (CHECKPOINT). */
export async function postgresProbe(url: string): Promise<StoreProbe> {
  const client = new Client({ connectionString: url });
  await client.connect();
  const number = async (sql: string, params: unknown[] = []) => Number(Object.values((await client.query(sql, params)).rows[0])[0] ?? 0);
  return {
    head: () => number('SELECT position FROM chain_head WHERE id = 1'),
    async usage() {
      await client.query('VACUUM events, streams');
      await client.query('CHECKPOINT');
      return {
        log: await number(`SELECT pg_total_relation_size('events') + pg_total_relation_size('streams')`),
        total: await number('SELECT pg_database_size(current_database())'),
      };
    },
    async breakdown() {
      const { rows } = await client.query<{ name: string; bytes: string }>(`
        SELECT c.relname AS name, pg_relation_size(c.oid) + COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0)
               + CASE WHEN c.relkind = 'r' THEN pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm') ELSE 0 END AS bytes
        FROM pg_class c
        WHERE c.oid IN ('events'::regclass, 'streams'::regclass)
           OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('events'::regclass, 'streams'::regclass))
        ORDER BY bytes DESC`);
      return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
    },
    async typesBetween(after, upTo) {
      const { rows } = await client.query<{ type: string; n: string }>(
        'SELECT type, COUNT(*) AS n FROM events WHERE position > $1 AND position <= $2 GROUP BY type', [after, upTo]);
      return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
    },
    meanDataBytes: (after, upTo) => number('SELECT AVG(OCTET_LENGTH(data)) FROM events WHERE position > $1 AND position <= $2', [after, upTo]),
    async close() {
      await client.end();
    },
  };
}
