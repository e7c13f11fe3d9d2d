/**
 * HuJSON ("human JSON", as Tailscale policy files are written): JSON plus `//` and `/* *\/` comments and trailing
 * commas. We blank comments and trailing commas out with spaces — keeping every other character where it was — and
 * hand the result to JSON.parse, so positions in its errors are positions in the original text.
 *
 * Duplicate object keys are refused: JSON.parse keeps the last one silently, and in a policy file a duplicated
 * `"acls"` or `"group:admins"` would drop rules without anyone noticing.
 */
export interface HujsonError {
  message: string;
  line: number;
  column: number;
}
export type HujsonResult = { ok: true; value: unknown } | { ok: false; error: HujsonError };

export function parseHujson(text: string): HujsonResult {
  const chars = text.split('');
  const fail = (message: string, offset: number): HujsonResult => ({ ok: false, error: { message, ...lineColumn(text, offset) } });
  if (chars[0] === '\uFEFF') chars[0] = ' ';
  // One frame per open object/array: objects remember their keys, to refuse duplicates.
  const stack: Array<{ keys: Set<string> | null; expectKey: boolean }> = [];
  /** Index of the last comma outside strings that has only whitespace/comments after it so far, or -1. */
  let pendingComma = -1;
  let i = 0;
  while (i < chars.length) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '\n') return fail('unterminated string', start);
      }
      if (i >= text.length) return fail('unterminated string', start);
      i++;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i)) as string;
        } catch {
          return fail('invalid string', start);
        }
        if (top.keys.has(key)) return fail(`duplicate key ${JSON.stringify(key)}`, start);
        top.keys.add(key);
        top.expectKey = false;
      }
      pendingComma = -1;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') chars[i++] = ' ';
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return fail('unterminated /* comment', i);
      for (; i < end + 2; i++) if (chars[i] !== '\n' && chars[i] !== '\r') chars[i] = ' ';
      continue;
    }
    if (c === '}' || c === ']') {
      if (pendingComma >= 0) chars[pendingComma] = ' ';
      stack.pop();
    } else if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : null, expectKey: c === '{' });
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      pendingComma = i;
      i++;
      continue;
    }
    if (!/\s/.test(c)) pendingComma = -1;
    i++;
  }
  const json = chars.join('');
  if (json.trim() === '') return fail('empty document', 0);
  try {
    return { ok: true, value: JSON.parse(json) };
  } catch (e) {
    const message = (e as Error).message;
    const at = /position (\d+)/.exec(message);
    const clean = message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    return fail(clean, at ? Number(at[1]) : json.length);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** "line 3, column 7: Unexpected token ..." — the form the API puts in a 400. */
export function formatHujsonError(error: HujsonError): string {
  return `line ${error.line}, column ${error.column}: ${error.message}`;
}
