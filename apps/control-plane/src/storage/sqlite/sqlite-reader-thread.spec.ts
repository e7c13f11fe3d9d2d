import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ColumnPage } from '../column-page';
import { SqliteDatabase } from './sqlite-database';

async function collect(pages: AsyncIterable<ColumnPage>): Promise<ColumnPage[]> {
  const out: ColumnPage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe('the SQLite reader thread (Database.queryColumnPages)', () => {
  let dir: string;
  let db: SqliteDatabase;
  const PAGES = 'SELECT position, square FROM numbers WHERE position > ? AND position <= ? ORDER BY position';
  const ALL = Number.MAX_SAFE_INTEGER;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-reader-'));
    db = await SqliteDatabase.open(join(dir, 'meshgate.sqlite'));
    db.connection.exec('CREATE TABLE numbers (position INTEGER PRIMARY KEY, square INTEGER NOT NULL)');
    const insert = db.connection.prepare('INSERT INTO numbers (position, square) VALUES (?, ?)');
    for (let i = 1; i <= 10; i++) insert.run(i, i * i);
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a keyset query page by page from `after` up to `until`, its columns as Float64Arrays, and ends at the first empty page', async () => {
    const pages = await collect(db.queryColumnPages(PAGES, 2, ALL, 3));
    expect(pages.map((page) => page.length)).toEqual([3, 3, 2]);
    expect(pages[0].columns[0]).toEqual(new Float64Array([3, 4, 5]));
    expect(pages.flatMap((page) => [...page.columns[1]])).toEqual([9, 16, 25, 36, 49, 64, 81, 100]);
    expect((await collect(db.queryColumnPages(PAGES, 2, 7, 3))).flatMap((page) => [...page.columns[0]])).toEqual([3, 4, 5, 6, 7]);
  });

  it('sees committed rows only, and a reader that stopped early leaves the others unharmed', async () => {
    await db.transaction(async (tx) => {
      await tx.execute('INSERT INTO numbers (position, square) VALUES (11, 121)');
      const during = await collect(db.queryColumnPages(PAGES, 8, ALL, 3));
      expect([...during[0].columns[0]]).toEqual([9, 10]);
    });
    for await (const page of db.queryColumnPages(PAGES, 0, ALL, 3)) if (page.length > 0) break;
    const after = await collect(db.queryColumnPages(PAGES, 8, ALL, 3));
    expect([...after[0].columns[0]]).toEqual([9, 10, 11]);
  });

  it("fails a query the driver refuses with the driver's message, and the thread goes on serving", async () => {
    await expect(collect(db.queryColumnPages('SELECT position FROM nowhere WHERE position > ? AND position <= ?', 0, ALL, 3))).rejects.toThrow('no such table: nowhere');
    expect((await collect(db.queryColumnPages(PAGES, 0, ALL, 3))).length).toBe(4);
  });

  it('refuses to read once the database is closed', async () => {
    await db.close();
    await expect(collect(db.queryColumnPages(PAGES, 0, ALL, 3))).rejects.toThrow('closed');
    db = await SqliteDatabase.open(join(dir, 'meshgate.sqlite'));
  });
});
