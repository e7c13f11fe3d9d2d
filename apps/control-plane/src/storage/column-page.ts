/**
 * A page of rows as columns, for the log's large reads: a column that holds only numbers is a Float64Array (one
 * allocation, and free to move between threads), any other an array of its values.
 */
export interface ColumnPage {
  length: number;
  columns: readonly (Float64Array | readonly unknown[])[];
}

/**
 * Rows (value arrays, all of one width) as a ColumnPage. Self-contained on purpose: the SQLite reader thread runs
 * this function from its source text.
 */
export function packColumns(rows: readonly (readonly unknown[])[]): ColumnPage {
  const width = rows.length === 0 ? 0 : rows[0].length;
  const columns: (Float64Array | unknown[])[] = [];
  for (let c = 0; c < width; c++) {
    let numbers = true;
    for (let i = 0; i < rows.length && numbers; i++) numbers = typeof rows[i][c] === 'number';
    const column = numbers ? new Float64Array(rows.length) : new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) column[i] = rows[i][c] as number;
    columns.push(column);
  }
  return { length: rows.length, columns };
}
