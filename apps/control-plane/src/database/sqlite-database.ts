import type { Database } from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { InitialSchema1732400000000 } from './sqlite-migrations/1732400000000-initial-schema';
import { PolicyEngine1732500000000 } from './sqlite-migrations/1732500000000-policy-engine';
import { SqliteRunner } from './sqlite-runner';

/**
 * Opens the SQLite file through TypeORM (migrations, connection lifecycle) and hands out the raw better-sqlite3
 * handle for the synchronous hot path. Everything SQLite-specific — pragmas, triggers, the schema's dialect — lives in
 * this folder; a PostgreSQL adapter replaces this file set.
 */
export async function openSqlite(path: string): Promise<{ dataSource: DataSource; runner: SqliteRunner }> {
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: path,
    migrations: [InitialSchema1732400000000, PolicyEngine1732500000000],
    migrationsRun: false,
    // WAL lets readers (GET, SSE connects) proceed during a commit; synchronous=FULL makes every commit durable
    // before any request in it is answered — group commit amortises the fsync.
    prepareDatabase: (db: Database) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      db.pragma('cache_size = -65536');
    },
  });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const db = (dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection;
  return { dataSource, runner: new SqliteRunner(db) };
}
