import { formatHujsonError, parseHujson } from './hujson';

describe('parseHujson', () => {
  it('reads plain JSON', () => {
    expect(parseHujson('{"a": [1, 2, {"b": null}]}')).toEqual({ ok: true, value: { a: [1, 2, { b: null }] } });
  });

  it('strips line and block comments and trailing commas', () => {
    const text = `{
      // who may reach what
      "acls": [
        /* the admins */ {"action": "accept", "src": ["group:admins",], "dst": ["*:*"],},
      ],
    }`;
    expect(parseHujson(text)).toEqual({
      ok: true,
      value: { acls: [{ action: 'accept', src: ['group:admins'], dst: ['*:*'] }] },
    });
  });

  it('leaves comment markers and commas inside strings alone', () => {
    const text = '{"url": "http://x/*y*/", "s": "a,]", "q": "\\"//", }';
    expect(parseHujson(text)).toEqual({ ok: true, value: { url: 'http://x/*y*/', s: 'a,]', q: '"//' } });
  });

  it('reports the line and column of a syntax error in the original text', () => {
    const result = parseHujson('{\n  // comment\n  "a": 1\n  "b": 2\n}');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ line: 4, column: 3 });
    expect(formatHujsonError(result.error)).toMatch(/^line 4, column 3: /);
  });

  it('refuses an unterminated block comment, naming where it starts', () => {
    expect(parseHujson('{"a": 1 /* oops\n}')).toEqual({
      ok: false,
      error: { message: 'unterminated /* comment', line: 1, column: 9 },
    });
  });

  it('refuses duplicate keys, which JSON.parse would silently collapse', () => {
    expect(parseHujson('{"acls": [],\n "acls": [{"x": 1, "y": {"x": 2}}]}')).toEqual({
      ok: false,
      error: { message: 'duplicate key "acls"', line: 2, column: 2 },
    });
    expect(parseHujson('[{"a": 1}, {"a": 2}]')).toEqual({ ok: true, value: [{ a: 1 }, { a: 2 }] });
  });

  it('keeps keys named like built-ins as own keys (JSON.parse makes "__proto__" one), refusing them twice like any other', () => {
    const result = parseHujson('{"__proto__": {"acls": []}, "constructor": 1, // comment\n "toString": [],}');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const value = result.value as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(parseHujson('{"__proto__": 1, "__proto__": 2}')).toMatchObject({ ok: false, error: { message: 'duplicate key "__proto__"' } });
  });

  it('refuses an empty document', () => {
    expect(parseHujson('  // nothing\n')).toMatchObject({ ok: false, error: { message: 'empty document' } });
  });
});
