/**
 * `npm run backup -- --to FILE [--from DATABASE]`: an online backup of the SQLite store (DATABASE_PATH unless `--from`
 * names one) while the server keeps running. The copy is `VACUUM INTO`: one read transaction, so it is the store at
 * one point in time, writers are not held up (WAL), and a busy server cannot make it start over as the page-by-page
 * backup API can. It is written beside FILE and renamed into place once its integrity check passes, so FILE is
 * never half a copy. Restore: stop the server, put FILE at DATABASE_PATH, start it, `npm run replay` (README,
 * "Backup and restore"). PostgreSQL is backed up with pg_dump.
 *
 * Exit 0 with the copy's head position printed; 2 when refused (bad arguments, no source, FILE exists, a PostgreSQL
 * store); 1 when the copy failed (nothing is left at FILE).
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

export class BackupRefused extends Error {}

export interface BackupResult {
  file: string;
  /** The position of the last event in the copy. */
  position: number;
}

export function backupSqlite(source: string, target: string): BackupResult {
  if (!existsSync(source)) throw new BackupRefused(`no database at ${source}`);
  if (existsSync(target)) throw new BackupRefused(`${target} exists: back up to a new file`);
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    // A write transaction of the server holds the lock for milliseconds; WAL readers only wait for checkpoints.
    db.pragma('busy_timeout = 10000');
    db.prepare('VACUUM INTO ?').run(partial);
  } finally {
    db.close();
  }
  try {
    const copy = new Database(partial, { readonly: true, fileMustExist: true });
    let position: number;
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the copy fails its integrity check: ${String(check)}`);
      position = (copy.prepare('SELECT position FROM chain_head WHERE id = 1').get() as { position: number }).position;
    } finally {
      copy.close();
    }
    renameSync(partial, target);
    return { file: target, position };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

if (require.main === module) {
  // The copy holds password and token hashes, as the live file does.
  process.umask(0o077);
  try {
    const { values } = parseArgs({ options: { to: { type: 'string' }, from: { type: 'string' } }, strict: true });
    if (!values.to) throw new BackupRefused('usage: npm run backup -- --to FILE [--from DATABASE_PATH]');
    if (!values.from && process.env.DATABASE_URL) throw new BackupRefused('DATABASE_URL is set: back PostgreSQL up with pg_dump (README, "Backup and restore")');
    const source = resolve(values.from ?? (process.env.DATABASE_PATH || './data/meshgate.sqlite'));
    const { file, position } = backupSqlite(source, resolve(values.to));
    console.log(`backed up ${source} to ${file} (log head at position ${position})`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(error instanceof BackupRefused || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1);
  }
}
