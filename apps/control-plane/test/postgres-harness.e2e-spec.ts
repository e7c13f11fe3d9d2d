import { Client } from 'pg';
import {
  createAppRole,
  createTestDatabase,
  dropTestDatabase,
  requirePostgres,
  startTestPostgres,
  TEST_DATABASE_URL_ENV,
  TEST_PG_ADMIN_URL_ENV,
  TestPostgres,
  uniqueDatabaseName,
} from './support/postgres';

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the PostgreSQL test harness', () => {
  let pg: TestPostgres;
  // The URLs from .ci/run or the globalSetup, else a throwaway cluster for this file (PostgreSQL installed locally).
  beforeAll(async () => { pg = await startTestPostgres(); });
  afterAll(async () => { await pg?.stop(); });

  it('connects to the test database as its login role and runs SELECT 1', async () => {
    expect(await query(pg.databaseUrl, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const [who] = await query<{ user: string; super: boolean; version: number }>(
      pg.databaseUrl,
      "SELECT current_user AS user, rolsuper AS super, current_setting('server_version_num')::int AS version FROM pg_roles WHERE rolname = current_user",
    );
    expect(who.super).toBe(false);
    expect(who.version).toBeGreaterThanOrEqual(150000);
  });

  it('creates a database per spec file and an app role limited to the grants it is given', async () => {
    const admin = requirePostgres({ [TEST_PG_ADMIN_URL_ENV]: pg.adminUrl });
    const name = uniqueDatabaseName('harness');
    const dbUrl = await createTestDatabase(admin, name);
    try {
      await query(dbUrl, 'CREATE TABLE events (position bigserial PRIMARY KEY, data text NOT NULL)');
      const appUrl = await createAppRole(admin, dbUrl, 'harness_app', 'app-password-1');
      await query(dbUrl, 'GRANT SELECT, INSERT ON events TO harness_app; GRANT USAGE ON SEQUENCE events_position_seq TO harness_app');
      await query(appUrl, "INSERT INTO events (data) VALUES ('a')");
      expect(await query(appUrl, 'SELECT data FROM events')).toEqual([{ data: 'a' }]);
      await expect(query(appUrl, "UPDATE events SET data = 'b'")).rejects.toThrow(/permission denied/);
      await expect(query(appUrl, 'DELETE FROM events')).rejects.toThrow(/permission denied/);
      // Creating it again resets the password instead of failing (roles are cluster-wide).
      const again = await createAppRole(admin, name, 'harness_app', 'app-password-2');
      expect(await query(again, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      // A second call gives a fresh, empty database.
      await createTestDatabase(admin, name);
      expect(await query(dbUrl, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'events'")).toEqual([{ n: 0 }]);
    } finally {
      await dropTestDatabase(admin, name);
      await query(admin, 'DROP ROLE IF EXISTS harness_app');
    }
    expect(await query(admin, `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${name}'`)).toEqual([{ n: 0 }]);
  });

  it('fails, never skips, when no PostgreSQL URL is configured', () => {
    expect(() => requirePostgres({})).toThrow(new RegExp(`${TEST_PG_ADMIN_URL_ENV}.*\\.ci/run.*apt-get install postgresql`));
    expect(() => requirePostgres({ [TEST_DATABASE_URL_ENV]: pg.databaseUrl })).toThrow(TEST_PG_ADMIN_URL_ENV);
  });
});
