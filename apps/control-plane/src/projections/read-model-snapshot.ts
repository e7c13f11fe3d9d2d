import { SqlRunner } from '../database/sql.port';
import { Projection } from './projection';

/** Every row of every read-model table, in primary-key order, as one comparable value per table. */
export function snapshotReadModels(sql: SqlRunner, projections: readonly Projection[]): Map<string, string[]> {
  const snapshot = new Map<string, string[]>();
  for (const table of projections.flatMap((p) => p.tables)) {
    const rows = sql.all<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY 1, 2`);
    snapshot.set(table, rows.map((r) => JSON.stringify(r)));
  }
  return snapshot;
}

/** Tables whose rows differ, with the first differing row of each for the report. */
export function diffSnapshots(live: Map<string, string[]>, rebuilt: Map<string, string[]>): string[] {
  const differences: string[] = [];
  for (const [table, rows] of live) {
    const other = rebuilt.get(table) ?? [];
    if (rows.length !== other.length) {
      differences.push(`${table}: ${rows.length} live rows, ${other.length} rebuilt`);
      continue;
    }
    const i = rows.findIndex((row, index) => row !== other[index]);
    if (i >= 0) differences.push(`${table}: row ${i} differs\n  live:    ${rows[i]}\n  rebuilt: ${other[i]}`);
  }
  return differences;
}
