import { SqlExecutor } from '../storage/database.port';
import { InlineProjection } from './inline-projection';
import { View } from './view';

/** Every row of every inline projection's tables, in primary-key order, as one comparable value per table. */
export async function tableRows(sql: SqlExecutor, projections: readonly InlineProjection[]): Promise<Map<string, string[]>> {
  const rows = new Map<string, string[]>();
  for (const table of projections.flatMap((p) => p.tables)) {
    const all = await sql.query<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY 1, 2`);
    rows.set(table, all.map((r) => JSON.stringify(r)));
  }
  return rows;
}

/** Every view's state as one comparable value per view. */
export function viewStates(views: readonly View[]): Map<string, string[]> {
  return new Map(views.map((v) => [v.name, [JSON.stringify(v.snapshot())]]));
}

/** Tables or views whose content differs, with the first differing row of each for the report. */
export function diffReadModels(live: Map<string, string[]>, rebuilt: Map<string, string[]>): string[] {
  const differences: string[] = [];
  for (const [name, rows] of live) {
    const other = rebuilt.get(name) ?? [];
    if (rows.length !== other.length) {
      differences.push(`${name}: ${rows.length} live rows, ${other.length} rebuilt`);
      continue;
    }
    const i = rows.findIndex((row, index) => row !== other[index]);
    if (i >= 0) differences.push(`${name}: row ${i} differs\n  live:    ${rows[i].slice(0, 500)}\n  rebuilt: ${other[i].slice(0, 500)}`);
  }
  return differences;
}
