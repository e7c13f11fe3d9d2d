import type { ColumnPage } from '../column-page';

/** `PGCOPY\n\377\r\n\0`: how the binary COPY format begins, before its flags and header extension. */
const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
const HEADER_FIXED = SIGNATURE.length + 8;
const TRAILER = -1;
const DOUBLE = 8;

/**
 * The rows of `COPY (…) TO STDOUT (FORMAT binary)` whose every column is a float8, cut into ColumnPages of `pageRows`
 * rows as the stream's chunks arrive (a row may span chunks). Each row is a field count, then per field a length (8,
 * or -1 for NULL) and a big-endian double; a NULL is refused, as Database.queryColumnPages promises numbers.
 */
export class BinaryCopyPages {
  private rest: Buffer | null = null;
  private headerRead = false;
  private ended = false;
  private columns: Float64Array[];
  private filled = 0;

  constructor(private readonly width: number, private readonly pageRows: number) {
    this.columns = this.freshColumns();
  }

  /** The pages this chunk completes. */
  push(chunk: Buffer): ColumnPage[] {
    if (chunk.length === 0) return [];
    if (this.ended) throw new Error('binary COPY: data after the trailer');
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let offset = this.headerRead ? 0 : this.readHeader(data, view);
    if (offset < 0) {
      this.rest = data;
      return [];
    }
    const pages: ColumnPage[] = [];
    while (offset + 2 <= data.length) {
      const fields = view.getInt16(offset);
      if (fields === TRAILER) {
        this.ended = true;
        return pages;
      }
      if (fields !== this.width) throw new Error(`binary COPY: a row of ${fields} columns where ${this.width} were expected`);
      const row = this.readRow(data, view, offset + 2);
      if (row < 0) break;
      offset = row;
      if (++this.filled === this.pageRows) pages.push(this.takePage());
    }
    if (offset < data.length) this.rest = data.subarray(offset);
    return pages;
  }

  /** The last page, shorter than the others (null when there is none); throws if the stream stopped short of its trailer. */
  end(): ColumnPage | null {
    if (!this.ended) throw new Error('binary COPY: the stream ended before its trailer');
    return this.filled === 0 ? null : this.takePage();
  }

  /** Reads a row's fields into the columns: the offset after them, or -1 if the data does not hold all of them yet. */
  private readRow(data: Buffer, view: DataView, from: number): number {
    let offset = from;
    for (let c = 0; c < this.width; c++, offset += 4 + DOUBLE) {
      if (offset + 4 > data.length) return -1;
      const length = view.getInt32(offset);
      if (length !== DOUBLE) throw new Error(`binary COPY: column ${c} is ${length === -1 ? 'NULL' : `${length} bytes`}, not a float8`);
      if (offset + 4 + DOUBLE > data.length) return -1;
      this.columns[c][this.filled] = view.getFloat64(offset + 4);
    }
    return offset;
  }

  /** The offset after the header, or -1 if the data does not hold all of it yet. */
  private readHeader(data: Buffer, view: DataView): number {
    if (data.length < HEADER_FIXED) return -1;
    if (!data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('binary COPY: not a binary COPY stream');
    const end = HEADER_FIXED + view.getUint32(SIGNATURE.length + 4);
    if (data.length < end) return -1;
    this.headerRead = true;
    return end;
  }

  private takePage(): ColumnPage {
    const page = { length: this.filled, columns: this.filled === this.pageRows ? this.columns : this.columns.map((c) => c.slice(0, this.filled)) };
    this.columns = this.freshColumns();
    this.filled = 0;
    return page;
  }

  private freshColumns(): Float64Array[] {
    return Array.from({ length: this.width }, () => new Float64Array(this.pageRows));
  }
}
