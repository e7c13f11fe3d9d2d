import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Database } from '../../src/storage/database.port';
import { PostgresDatabase } from '../../src/storage/postgres/postgres-database';
import { SqliteDatabase } from '../../src/storage/sqlite/sqlite-database';
import { createTestDatabase, requirePostgres } from './postgres';

/** A fresh, empty store of one kind, and how to open it again (a second replica, or after a crash). */
export interface StoreUnderTest {
  kind: 'sqlite' | 'postgres';
  /** `DATABASE_PATH` or `DATABASE_URL` for a server on this store. */
  env: Record<string, string>;
  open(): Promise<Database>;
  /** Runs SQL as the database owner / superuser, outside the app's own guarantees (to tamper, in tests). */
  superuser(sql: string): Promise<void>;
  dispose(): Promise<void>;
}

let sequence = 0;

export async function freshStore(kind: 'sqlite' | 'postgres'): Promise<StoreUnderTest> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-store-'));
    const path = join(dir, 'meshgate.sqlite');
    return {
      kind,
      env: { DATABASE_PATH: path },
      open: () => SqliteDatabase.open(path),
      superuser: async (sql) => {
        const db = new (await import('better-sqlite3')).default(path, { timeout: 10_000 });
        try {
          db.exec(sql);
        } catch (error) {
          // The native addon is loaded once per process, so its errors may come from another test file's realm,
          // where jest's toThrow does not see an Error: rethrow one of this realm.
          throw new Error((error as Error).message);
        } finally {
          db.close();
        }
      },
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const admin = requirePostgres();
  const url = await createTestDatabase(admin, `meshgate_store_${process.pid}_${++sequence}_${Date.now()}`);
  return {
    kind,
    env: { DATABASE_URL: url },
    open: () => PostgresDatabase.open(url),
    superuser: async (sql) => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    dispose: async () => undefined,
  };
}
