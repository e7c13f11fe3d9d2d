import { ColumnPage } from '../column-page';
import { BinaryCopyPages } from './binary-copy-pages';

/** `COPY … TO STDOUT (FORMAT binary)` of float8 rows, as PostgreSQL writes it (null: a NULL field). */
function binaryCopy(rows: (number | null)[][], headerExtension = Buffer.alloc(0)): Buffer {
  const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(4), Buffer.alloc(4), headerExtension];
  parts[2].writeUInt32BE(headerExtension.length);
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    parts.push(count);
    for (const value of row) {
      if (value === null) {
        parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
        continue;
      }
      const field = Buffer.alloc(12);
      field.writeInt32BE(8);
      field.writeDoubleBE(value, 4);
      parts.push(field);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const rowsOf = (pages: ColumnPage[]) => pages.flatMap((p) => Array.from({ length: p.length }, (_, i) => p.columns.map((c) => c[i])));

function decode(stream: Buffer, chunkAt: number[], width: number, pageRows: number): ColumnPage[] {
  const decoder = new BinaryCopyPages(width, pageRows);
  const pages: ColumnPage[] = [];
  let from = 0;
  for (const at of [...chunkAt, stream.length]) {
    pages.push(...decoder.push(stream.subarray(from, at)));
    from = at;
  }
  const last = decoder.end();
  if (last) pages.push(last);
  return pages;
}

describe('BinaryCopyPages', () => {
  const rows = Array.from({ length: 7 }, (_, i) => [i + 1, 1_700_000_000_000 + i, -(i % 3), 0.5 * i]);
  const stream = binaryCopy(rows, Buffer.from('ext'));

  it('cuts the rows into pages of the size asked, the last one shorter, wherever the chunks split the stream', () => {
    for (let at = 0; at <= stream.length; at++) {
      const pages = decode(stream, [at], 4, 3);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.every((p) => p.columns.every((c) => c instanceof Float64Array && c.length === p.length))).toBe(true);
      expect(rowsOf(pages)).toEqual(rows);
    }
  });

  it('takes a stream a byte at a time, and one with no rows', () => {
    expect(rowsOf(decode(stream, Array.from({ length: stream.length }, (_, i) => i), 4, 2))).toEqual(rows);
    expect(decode(binaryCopy([]), [5], 4, 2)).toEqual([]);
  });

  it('refuses a NULL, a row of another width, a stream that is not binary COPY, and one cut before its trailer', () => {
    expect(() => decode(binaryCopy([[1, null]]), [], 2, 10)).toThrow('column 1 is NULL, not a float8');
    expect(() => decode(binaryCopy([[1, 2, 3]]), [], 2, 10)).toThrow('a row of 3 columns where 2 were expected');
    expect(() => decode(Buffer.from('position,ref\n1,2\n3,4\n', 'latin1'), [], 2, 10)).toThrow('not a binary COPY stream');
    expect(() => decode(stream.subarray(0, stream.length - 2), [], 4, 10)).toThrow('ended before its trailer');
  });
});
