/** How results are written: human tables by default, JSON (one document on stdout) for scripts with `--json`. */
export interface Output {
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function writeJson(out: Output, value: unknown): void {
  out.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function writeLine(out: Output, line = ''): void {
  out.stdout.write(line + '\n');
}

/** A note for the human (hints, next cursors): stderr, so it never mixes into a result a script reads. */
export function writeNote(out: Output, line: string): void {
  out.stderr.write(line + '\n');
}

export type Cell = string | number | boolean | null | undefined;

/** Columns padded to their widest cell, headers upper-case; an empty list says so instead of printing headers alone. */
export function writeTable(out: Output, headers: string[], rows: Cell[][], empty = '(none)'): void {
  if (rows.length === 0) {
    writeLine(out, empty);
    return;
  }
  const text = rows.map((row) => row.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  writeLine(out, line(headers.map((h) => h.toUpperCase())));
  for (const row of text) writeLine(out, line(row));
}

/** `key: value` lines, keys aligned. */
export function writeFields(out: Output, fields: Array<[string, Cell]>): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [key, value] of fields) writeLine(out, `${(key + ':').padEnd(width + 1)} ${cellText(value)}`);
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  if (typeof cell === 'boolean') return cell ? 'yes' : 'no';
  return String(cell);
}

/** "3m ago", "in 2d": short enough for a table column. */
export function ago(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const ms = now - Date.parse(iso);
  const [amount, unit] = span(Math.abs(ms));
  return ms >= 0 ? `${amount}${unit} ago` : `in ${amount}${unit}`;
}

function span(ms: number): [number, string] {
  const s = Math.floor(ms / 1000);
  if (s < 60) return [s, 's'];
  if (s < 3600) return [Math.floor(s / 60), 'm'];
  if (s < 86400) return [Math.floor(s / 3600), 'h'];
  return [Math.floor(s / 86400), 'd'];
}
