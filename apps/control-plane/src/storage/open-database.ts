import { Database } from './database.port';
import { PostgresDatabase } from './postgres/postgres-database';
import { SqliteDatabase } from './sqlite/sqlite-database';

export interface StorageSettings {
  /** The SQLite file, used when no `databaseUrl` is given. */
  databasePath: string;
  /** `postgres://…`: PostgreSQL, shared by every replica. */
  databaseUrl?: string | null;
  /** The schema owner's URL for migrations, when the app's role is not the owner. */
  migrationUrl?: string | null;
  writeBusyWaitMs: number;
}

/** The store the settings name, migrated and ready. */
export function openDatabase(settings: StorageSettings): Promise<Database> {
  if (settings.databaseUrl) return PostgresDatabase.open(settings.databaseUrl, { migrationUrl: settings.migrationUrl ?? undefined });
  return SqliteDatabase.open(settings.databasePath, { busyWaitMs: settings.writeBusyWaitMs });
}
