/**
 * Where in a HuJSON text (JSON with comments and trailing commas) the value at a JSON path starts, so the policy
 * editor can point at the line an error names ("tests[0].deny[0]: …"). Reads only along the path: linear in the text.
 */
export function lineOfPath(text: string, path: string): number | null {
  const steps = parsePath(path);
  if (!steps) return null;
  let i = 0;
  const skipSpace = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i])) i++;
      if (text.startsWith('//', i)) i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
      else if (text.startsWith('/*', i)) i = text.indexOf('*/', i) < 0 ? text.length : text.indexOf('*/', i) + 2;
      else return;
    }
  };
  const readString = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return '';
    }
  };
  const skipValue = (): void => {
    skipSpace();
    const c = text[i];
    if (c === '"') return void readString();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      for (;;) {
        skipSpace();
        if (i >= text.length || text[i] === close) return void i++;
        if (text[i] === ',' || text[i] === ':') { i++; continue; }
        skipValue();
      }
    }
    while (i < text.length && !/[\s,}\]:/]/.test(text[i])) i++;
  };
  for (const step of steps) {
    skipSpace();
    const open = text[i];
    if (typeof step === 'number' ? open !== '[' : open !== '{') return null;
    i++;
    let found = false;
    for (let index = 0; !found; index++) {
      skipSpace();
      if (text[i] === ',') { i++; skipSpace(); }
      if (i >= text.length || text[i] === '}' || text[i] === ']') return null;
      if (typeof step === 'number') {
        if (index === step) found = true;
        else skipValue();
      } else {
        const key = readString();
        skipSpace();
        i++; // ':'
        if (key === step) found = true;
        else skipValue();
      }
    }
  }
  skipSpace();
  return text.slice(0, i).split('\n').length;
}

/** `tests[0].deny[1]` → ['tests', 0, 'deny', 1]; null for anything else. */
function parsePath(path: string): Array<string | number> | null {
  if (!/^[A-Za-z_$][\w$-]*(\[\d+\]|\.[A-Za-z_$][\w$-]*)*$/.test(path)) return null;
  return [...path.matchAll(/([A-Za-z_$][\w$-]*)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

/** The path an API error message starts with (`tests[0].deny[0]: …`), if any. */
export function pathOf(message: string): string | null {
  return /^([A-Za-z_$][\w$.\-[\]]*): /.exec(message)?.[1] ?? null;
}
