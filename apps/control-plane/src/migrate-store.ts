/**
 * `npm run migrate-store -- --from <store> --to <store>`: moves a deployment's log to another, empty store — from
 * SQLite to PostgreSQL (`--from ./data/meshgate.sqlite --to postgres://…`), or back. A store is a `postgres://` (or
 * `postgresql://`) URL, else a SQLite file. Run it with the servers stopped.
 *
 * - The source is opened as a server opens it (an older SQLite file is upgraded first) and its hash chain is verified
 *   from position 0; a broken chain is refused before the target is touched.
 * - The target is opened as a server opens it (its schema migrated) and must be empty: no events, streams, inline
 *   rows, checkpoints or snapshots. A non-empty target is refused and left as it was.
 * - The log is copied in position order, a batch per transaction: each batch inserts the streams it first names
 *   (their refs are the target's own, mapped), its events with their positions, stream versions, types, data,
 *   metadata, times and hashes as they are, and moves the target's chain head to its last event — so what has been
 *   committed is always a verifiable prefix of the source.
 * - Then the target's chain is verified from position 0 and its head must be the source's; its inline projections
 *   are rebuilt from the log (from checkpoint 0) and, when the source's are up to date, compared with them. View
 *   snapshots are not copied: the views replay from the log at the first start.
 *
 * Exit 0 when done; 2 when refused (bad arguments, no source, a source chain that does not verify, a target that is
 * not empty), nothing having been written; 1 when the copy or its verification failed.
 * Only portable SQL through the Database port: the same code runs either way.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { canonicalJson } from './event-store/hash-chain';
import { SqlEventStore } from './event-store/sql-event-store';
import { InlineProjection } from './projections/inline-projection';
import { InlineProjections } from './projections/inline-projections';
import { inlineProjections } from './replay';
import { Database, SqlExecutor, Transaction } from './storage/database.port';
import { openDatabase, StorageSettings } from './storage/open-database';

type Location = Pick<StorageSettings, 'databasePath' | 'databaseUrl'>;

/** The migration was refused before anything was written to the target (exit 2). */
export class MigrateStoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrateStoreRefused';
  }
}

export interface MigrateStoreOptions {
  /** Events per transaction (default 5,000). */
  batchSize?: number;
  log?: (line: string) => void;
}

export interface MigrateStoreResult {
  events: number;
  streams: number;
  seconds: number;
  head: { position: number; hash: string };
}

/** The log's columns, read and written as they are stored (the stream as the source's ref, mapped to the target's). */
interface LogRow {
  position: number;
  tenant_id: string | null;
  stream_ref: number;
  stream_version: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: number;
  hash: Buffer;
}

const LOG_COLUMNS = ['position', 'tenant_id', 'stream_ref', 'stream_version', 'type', 'data', 'metadata', 'recorded_at', 'hash'] as const;
/** Rows per INSERT statement: 9 parameters each stays well under SQLite's 32,766 and PostgreSQL's 65,535. */
const ROWS_PER_STATEMENT = 1_000;
const PROGRESS_EVERY_MS = 1_000;

const isUrl = (text: string) => /^postgres(ql)?:\/\//i.test(text);

export function parseLocation(text: string): Location {
  if (!isUrl(text)) return { databasePath: resolve(text), databaseUrl: null };
  try {
    new URL(text);
  } catch {
    throw new MigrateStoreRefused(`${text.replace(/\/\/[^@/]*@/, '//…@')} is not a valid postgres:// URL`);
  }
  return { databasePath: '', databaseUrl: text };
}

/** How a store is named in output: a file's path, a URL without its password. */
export function describeLocation(location: Location): string {
  if (!location.databaseUrl) return location.databasePath;
  try {
    const url = new URL(location.databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://…';
  }
}

function sameStore(a: Location, b: Location): boolean {
  if (a.databaseUrl || b.databaseUrl) {
    if (!a.databaseUrl || !b.databaseUrl) return false;
    const [x, y] = [new URL(a.databaseUrl), new URL(b.databaseUrl)];
    return x.hostname === y.hostname && (x.port || '5432') === (y.port || '5432') && x.pathname === y.pathname;
  }
  return a.databasePath === b.databasePath;
}

const elapsed = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const perSecond = (n: number, s: number) => Math.round(n / Math.max(s, 1e-9));
const placeholders = (rows: number, columns: number) =>
  Array.from({ length: rows }, () => `(${Array.from({ length: columns }, () => '?').join(', ')})`).join(', ');

async function insertRows(tx: SqlExecutor, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    await tx.execute(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${placeholders(chunk.length, columns.length)}`, chunk.flat());
  }
}

/** The tables that must be empty in a target: the log's, and everything derived from it. */
function targetTables(projections: readonly InlineProjection[]): string[] {
  return ['events', 'streams', 'projection_checkpoints', 'view_snapshots', ...projections.flatMap((p) => p.tables)];
}

async function nonEmptyTables(db: Database, projections: readonly InlineProjection[]): Promise<string[]> {
  const found: string[] = [];
  for (const table of targetTables(projections)) {
    if (await db.one(`SELECT 1 AS present FROM ${table} LIMIT 1`)) found.push(table);
  }
  const head = await db.one<{ position: number }>('SELECT position FROM chain_head WHERE id = 1');
  if (head && Number(head.position) !== 0) found.push(`chain_head (position ${head.position})`);
  return found;
}

/**
 * A table's rows on both stores compared as canonical JSON over the columns both have, sorted: the same content
 * compares equal whatever each dialect's column order and collation.
 */
function diffTables(table: string, source: Record<string, unknown>[], target: Record<string, unknown>[]): string | null {
  if (source.length !== target.length) return `${table}: ${source.length} rows in the source, ${target.length} rebuilt on the target`;
  if (source.length === 0) return null;
  const columns = Object.keys(source[0]).filter((c) => c in target[0]);
  const text = (rows: Record<string, unknown>[]) =>
    rows.map((row) => canonicalJson(Object.fromEntries(columns.map((c) => [c, row[c]])))).sort();
  const [a, b] = [text(source), text(target)];
  const i = a.findIndex((row, index) => row !== b[index]);
  return i < 0 ? null : `${table}: rows differ\n  source: ${a[i].slice(0, 500)}\n  target: ${b[i].slice(0, 500)}`;
}

/** Copies the source's log to the empty target and verifies it there; see the file's comment. */
export async function migrateStore(from: string, to: string, options: MigrateStoreOptions = {}): Promise<MigrateStoreResult> {
  const log = options.log ?? console.log;
  const batchSize = options.batchSize ?? 5_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new MigrateStoreRefused(`the batch size must be a positive integer, not ${batchSize}`);
  const sourceAt = parseLocation(from);
  const targetAt = parseLocation(to);
  const [sourceName, targetName] = [describeLocation(sourceAt), describeLocation(targetAt)];
  if (sameStore(sourceAt, targetAt)) throw new MigrateStoreRefused(`--from and --to name the same store (${sourceName})`);
  if (!sourceAt.databaseUrl && !existsSync(sourceAt.databasePath)) throw new MigrateStoreRefused(`no SQLite file at ${sourceName}`);

  const started = process.hrtime.bigint();
  const source = await openDatabase({ ...sourceAt, writeBusyWaitMs: 5_000 });
  try {
    const sourceStore = new SqlEventStore(source);
    const head = await sourceStore.head();
    log(`source ${sourceName} (${source.dialect}): ${head.position} events, chain head ${head.hash}`);
    let step = process.hrtime.bigint();
    const broken = await sourceStore.verifyChain();
    if (broken !== null) {
      throw new MigrateStoreRefused(
        `the source's hash chain does not verify (broken at position ${broken}); nothing was copied. ` +
        '`npm run replay -- --full` on the source says more.');
    }
    log(`source hash chain intact from position 0 to ${head.position} (${elapsed(step).toFixed(2)} s)`);

    if (!targetAt.databaseUrl) mkdirSync(dirname(targetAt.databasePath), { recursive: true, mode: 0o700 });
    const target = await openDatabase({ ...targetAt, writeBusyWaitMs: 5_000 });
    try {
      const projections = inlineProjections();
      const occupied = await nonEmptyTables(target, projections);
      if (occupied.length > 0) {
        throw new MigrateStoreRefused(
          `the target ${targetName} (${target.dialect}) is not empty (rows in ${occupied.join(', ')}); migrate-store copies only into ` +
          'an empty store, and nothing was written. Point --to at a new database (or file).');
      }
      log(`target ${targetName} (${target.dialect}): empty, schema migrated`);

      // --- the log, in position order, one transaction per batch ---
      step = process.hrtime.bigint();
      const names = new Map((await source.query<{ ref: number; stream_id: string }>('SELECT ref, stream_id FROM streams ORDER BY ref'))
        .map((r) => [Number(r.ref), r.stream_id]));
      const refs = new Map<number, number>(); // source ref → target ref
      let copied = 0;
      let lastProgress = Date.now();
      while (copied < head.position) {
        const rows = await source.query<LogRow>(
          `SELECT ${LOG_COLUMNS.join(', ')} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ${batchSize}`,
          [copied, head.position]);
        if (rows.length === 0) throw new Error(`the source has no events after position ${copied}, below its head ${head.position}`);
        const reached = await target.transaction(async (tx) => {
          const at = (await tx.one<{ position: number }>('UPDATE chain_head SET position = position WHERE id = 1 RETURNING position'))!;
          if (Number(at.position) !== copied) {
            throw new Error(`the target's chain head moved to ${at.position} during the copy (expected ${copied}): is a server running on it?`);
          }
          const added = await copyStreams(tx, rows.map((r) => Number(r.stream_ref)), names, refs);
          await insertRows(tx, 'events', LOG_COLUMNS, rows.map((r) => [
            r.position, r.tenant_id, refOf(added, refs, Number(r.stream_ref)), r.stream_version, r.type, r.data, r.metadata, r.recorded_at, r.hash,
          ]));
          const last = rows[rows.length - 1];
          await tx.execute('UPDATE chain_head SET position = ?, hash = ? WHERE id = 1', [last.position, last.hash]);
          return { last: Number(last.position), added };
        });
        for (const [sourceRef, targetRef] of reached.added) refs.set(sourceRef, targetRef);
        copied = reached.last;
        if (Date.now() - lastProgress >= PROGRESS_EVERY_MS || copied === head.position) {
          lastProgress = Date.now();
          const s = elapsed(step);
          log(`copied ${copied} of ${head.position} events (${Math.floor((copied / head.position) * 100)}%), ${refs.size} streams, ` +
            `${s.toFixed(1)} s, ${perSecond(copied, s)} events/s`);
        }
      }
      // Streams no committed event names (none are expected: a stream is created with its first event).
      const orphans = [...names.keys()].filter((ref) => !refs.has(ref));
      if (orphans.length > 0) {
        const added = await target.transaction((tx) => copyStreams(tx, orphans, names, refs));
        for (const [sourceRef, targetRef] of added) refs.set(sourceRef, targetRef);
        log(`copied ${orphans.length} streams without events`);
      }
      const copySeconds = elapsed(step);
      // Statistics for the freshly loaded log: without them PostgreSQL plans every page of a replay as a join of the
      // whole rest of the log (376 ms instead of 18 ms per page measured), until autovacuum gets round to it.
      await target.execute('ANALYZE events');
      await target.execute('ANALYZE streams');

      // --- the target verifies on its own, and ends where the source does ---
      step = process.hrtime.bigint();
      const targetStore = new SqlEventStore(target);
      const targetBroken = await targetStore.verifyChain();
      const targetHead = await targetStore.head();
      if (targetBroken !== null) throw new Error(`the target's hash chain does not verify (broken at position ${targetBroken})`);
      if (targetHead.position !== head.position || targetHead.hash !== head.hash) {
        throw new Error(`the target's chain head (${targetHead.position}, ${targetHead.hash}) is not the source's (${head.position}, ${head.hash})`);
      }
      const sourceNow = await sourceStore.head();
      if (sourceNow.position !== head.position) {
        throw new Error(`the source grew from ${head.position} to ${sourceNow.position} events during the copy: stop its servers and migrate again into a new target`);
      }
      log(`target hash chain intact from position 0 to ${targetHead.position}, head equal to the source's (${elapsed(step).toFixed(2)} s)`);

      // --- inline projections rebuilt from the log, compared with the source's when those are up to date ---
      step = process.hrtime.bigint();
      const inline = new InlineProjections(target, targetStore, projections);
      const applied = await inline.start();
      log(`rebuilt the inline projections on the target from ${applied} events (${elapsed(step).toFixed(2)} s)`);
      const checkpoints = new Map((await source.query<{ name: string; position: number }>('SELECT name, position FROM projection_checkpoints'))
        .map((r) => [r.name, Number(r.position)]));
      if (projections.every((p) => (checkpoints.get(p.name) ?? 0) === head.position)) {
        const differences: string[] = [];
        for (const table of projections.flatMap((p) => p.tables)) {
          const all = (db: SqlExecutor) => db.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
          const difference = diffTables(table, await all(source), await all(target));
          if (difference) differences.push(difference);
        }
        if (differences.length > 0) {
          throw new Error(`the inline projections rebuilt on the target differ from the source's (\`npm run replay -- --full\` on the ` +
            `source rebuilds its own from its log):\n${differences.join('\n')}`);
        }
        log('inline projections identical to the source\'s');
      } else {
        log('the source\'s inline projections are behind its log; not compared (the target\'s are rebuilt from the log)');
      }

      const seconds = elapsed(started);
      log(`migrated ${head.position} events in ${refs.size} streams from ${sourceName} to ${targetName} in ${seconds.toFixed(2)} s ` +
        `(copy ${copySeconds.toFixed(2)} s, ${perSecond(head.position, copySeconds)} events/s); the views replay from the log at the first start`);
      return { events: head.position, streams: refs.size, seconds, head };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * Inserts the streams among `sourceRefs` the target does not have yet, in the order they are first named, and
 * returns their target refs (assigned by the target).
 */
async function copyStreams(tx: Transaction, sourceRefs: readonly number[], names: Map<number, string>, refs: Map<number, number>): Promise<Map<number, number>> {
  const fresh: number[] = [];
  const seen = new Set<number>();
  for (const ref of sourceRefs) {
    if (refs.has(ref) || seen.has(ref)) continue;
    if (!names.has(ref)) throw new Error(`the source's events name stream ref ${ref}, which its streams table does not have`);
    seen.add(ref);
    fresh.push(ref);
  }
  const added = new Map<number, number>();
  if (fresh.length === 0) return added;
  await insertRows(tx, 'streams', ['stream_id'], fresh.map((ref) => [names.get(ref)]));
  const bySourceName = new Map(fresh.map((ref) => [names.get(ref)!, ref]));
  for (let i = 0; i < fresh.length; i += ROWS_PER_STATEMENT) {
    const chunk = fresh.slice(i, i + ROWS_PER_STATEMENT).map((ref) => names.get(ref)!);
    const rows = await tx.query<{ ref: number; stream_id: string }>(
      `SELECT ref, stream_id FROM streams WHERE stream_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
    for (const row of rows) added.set(bySourceName.get(row.stream_id)!, Number(row.ref));
  }
  if (added.size !== fresh.length) throw new Error(`inserted ${fresh.length} streams into the target but found ${added.size}`);
  return added;
}

function refOf(added: Map<number, number>, refs: Map<number, number>, sourceRef: number): number {
  const ref = added.get(sourceRef) ?? refs.get(sourceRef);
  if (ref === undefined) throw new Error(`no target ref for the source's stream ref ${sourceRef}`);
  return ref;
}

const USAGE = 'usage: npm run migrate-store -- --from <sqlite file | postgres://…> --to <postgres://… | sqlite file> [--batch-size N]';

/** `--from X --to Y [--batch-size N]` (also `--from=X`). */
export function parseArguments(argv: readonly string[]): { from: string; to: string; batchSize?: number } | 'help' {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    const match = /^--(from|to|batch-size)(?:=(.*))?$/.exec(arg);
    if (!match) throw new MigrateStoreRefused(`unknown argument ${arg}\n${USAGE}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined || value === '') throw new MigrateStoreRefused(`--${match[1]} needs a value\n${USAGE}`);
    if (match[1] in values) throw new MigrateStoreRefused(`--${match[1]} given twice\n${USAGE}`);
    values[match[1]] = value;
  }
  if (!values.from || !values.to) throw new MigrateStoreRefused(`both --from and --to are needed\n${USAGE}`);
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  return { from: values.from, to: values.to, batchSize };
}

if (require.main === module) {
  const run = async () => {
    const parsed = parseArguments(process.argv.slice(2));
    if (parsed === 'help') {
      console.log(USAGE);
      return;
    }
    await migrateStore(parsed.from, parsed.to, { batchSize: parsed.batchSize });
  };
  run().then(() => process.exit(0), (error) => {
    if (error instanceof MigrateStoreRefused) {
      console.error(`migrate-store refused: ${error.message}`);
      process.exit(2);
    }
    console.error('migrate-store failed:', error);
    process.exit(1);
  });
}
