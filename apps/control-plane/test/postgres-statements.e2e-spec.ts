import { Database } from '../src/storage/database.port';
import { freshStore, StoreUnderTest } from './support/stores';

describe('PostgreSQL: statements run often are prepared', () => {
  let store: StoreUnderTest;
  let db: Database;
  beforeAll(async () => {
    store = await freshStore('postgres');
    db = await store.open();
  });
  afterAll(async () => {
    await db?.close();
    await store?.dispose();
  });

  it('once per connection, with the same answers; text that varies leaves a bounded number prepared', async () => {
    await db.transaction(async (tx) => {
      // One transaction: one connection, whose prepared statements pg_prepared_statements lists.
      for (let i = 0; i < 60; i++) expect(await tx.one('SELECT CAST(? AS INTEGER) * 2 AS x', [i])).toEqual({ x: 2 * i });
      const prepared = async () => (await tx.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements')).map((s) => s.statement);
      expect(await prepared()).toContain('SELECT CAST($1 AS INTEGER) * 2 AS x');
      // 400 texts, each run often: the first ones are named, the rest run unnamed, and still answer.
      for (let v = 0; v < 400; v++) {
        for (let i = 0; i < 55; i++) expect(await tx.one(`SELECT CAST(? AS INTEGER) + ${v} AS x`, [i])).toEqual({ x: i + v });
      }
      const all = await prepared();
      expect(all.length).toBeLessThanOrEqual(256);
      expect(all).toContain('SELECT CAST($1 AS INTEGER) + 0 AS x');
      expect(all).not.toContain('SELECT CAST($1 AS INTEGER) + 399 AS x');
    });
  }, 120_000);
});
