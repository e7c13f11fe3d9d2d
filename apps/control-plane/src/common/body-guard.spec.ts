import { jsonValueProblem, MAX_BODY_DEPTH } from './body-guard';

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 1; i < levels; i++) value = i % 2 ? [value] : { a: value };
  return { field: value };
};

describe('jsonValueProblem', () => {
  it(`takes ${MAX_BODY_DEPTH} levels and refuses one more, naming the top field`, () => {
    expect(jsonValueProblem(nested(MAX_BODY_DEPTH), 'request body')).toBeNull();
    expect(jsonValueProblem(nested(MAX_BODY_DEPTH + 1), 'request body')).toBe(`field nests deeper than ${MAX_BODY_DEPTH} levels`);
  });

  it('walks a million levels without overflowing the stack', () => {
    const deep = `{"peers":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
    expect(jsonValueProblem(JSON.parse(deep), 'request body')).toBe(`peers nests deeper than ${MAX_BODY_DEPTH} levels`);
  });

  it('refuses a lone surrogate in a value or a key, naming where', () => {
    expect(jsonValueProblem({ email: 'a\ud800@example.com' }, 'request body')).toMatch(/^email must be well-formed Unicode/);
    expect(jsonValueProblem({ peers: [{ publicKey: '\udfff' }] }, 'request body')).toMatch(/^peers\.0\.publicKey must be well-formed/);
    expect(jsonValueProblem({ tags: { '\ud800': 1 } }, 'request body')).toMatch(/^tags has a key that is not well-formed/);
    expect(jsonValueProblem('\ud800', 'query')).toMatch(/^query must be well-formed/);
  });

  it('takes paired surrogates, primitives and nothing', () => {
    expect(jsonValueProblem({ name: 'grüße 😀', n: 1, b: true, z: null, list: [] }, 'request body')).toBeNull();
    expect(jsonValueProblem(undefined, 'request body')).toBeNull();
  });
});
