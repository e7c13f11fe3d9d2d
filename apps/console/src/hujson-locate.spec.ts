import { lineOfPath, pathOf } from './hujson-locate';

const TEXT = `// policy
{
  "acls": [
    /* the web tier */ {"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]},
    {"action": "accept",
     "src": ["tag:ops"],
     "dst": ["tag:web:22", "tag:db:22",],},
  ],
  "tests": [
    {"src": "tag:ops", "accept": ["tag:db:22"]}, // ops reach db
  ],
}
`;

describe('lineOfPath (which line of a HuJSON policy an error names)', () => {
  it.each([
    ['acls', 3], ['acls[0]', 4], ['acls[0].dst[0]', 4], ['acls[1]', 5], ['acls[1].src', 6], ['acls[1].dst[1]', 7],
    ['tests[0].accept[0]', 10],
  ])('%s is on line %i', (path, line) => {
    expect(lineOfPath(TEXT, path)).toBe(line);
  });

  it('answers null for a path the text does not have, or one it cannot read', () => {
    expect(lineOfPath(TEXT, 'acls[2]')).toBeNull();
    expect(lineOfPath(TEXT, 'groups')).toBeNull();
    expect(lineOfPath(TEXT, 'acls.dst')).toBeNull();
    expect(lineOfPath(TEXT, 'groups["group:eng"]')).toBeNull();
    expect(lineOfPath('{"acls": [', 'acls[3]')).toBeNull();
  });

  it('reads the path an API message starts with', () => {
    expect(pathOf('tests[0].deny[0]: tag:web (web-1) should not reach tag:db:22')).toBe('tests[0].deny[0]');
    expect(pathOf('the body must be a policy document')).toBeNull();
  });
});
