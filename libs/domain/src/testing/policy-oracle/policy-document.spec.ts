import { parsePolicy, ParseResult, PolicyDocument } from './policy-document';

const errorsOf = (input: unknown): string[] => {
  const result = parsePolicy(input);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.policy)}`);
  return result.errors;
};
const policyOf = (input: unknown): PolicyDocument => {
  const result: ParseResult = parsePolicy(input);
  if (!result.ok) throw new Error(`expected a policy, got ${result.errors.join('; ')}`);
  return result.policy;
};
/** `path: message`, the path being a JSON path into the document (`acls[2].dst[0]`, `["odd key"]`). */
const PATH = /^(policy|[A-Za-z_$][\w$]*|\["(?:[^"\\]|\\.)*"\])(\[\d+\]|\.[A-Za-z_$][\w$]*|\["(?:[^"\\]|\\.)*"\])*: \S/;

describe('parsePolicy', () => {
  it('accepts a valid document and returns exactly its ACLs', () => {
    const doc = {
      acls: [
        { action: 'accept', src: ['*'], dst: ['tag:web', 'db-1'] },
        { action: 'deny', src: ['tag:quarantine'], dst: ['*'] },
      ],
    };
    expect(policyOf(doc)).toEqual(doc);
  });

  it('accepts the empty policy (deny all)', () => {
    expect(policyOf({ acls: [] })).toEqual({ acls: [] });
  });

  it('returns copies: later edits to the input do not leak into the policy', () => {
    const doc = { acls: [{ action: 'accept', src: ['a'], dst: ['b'] }] };
    const policy = policyOf(doc);
    doc.acls[0].src.push('c');
    expect(policy.acls[0].src).toEqual(['a']);
  });

  it.each([null, 'acls', 42, [], [{ acls: [] }], true])('refuses a non-object document (%j)', (input) => {
    expect(errorsOf(input)).toEqual(['policy: must be a JSON object']);
  });

  it('requires acls, as an array', () => {
    expect(errorsOf({})).toEqual(['acls: is required']);
    expect(errorsOf({ acls: {} })).toEqual(['acls: must be an array']);
    expect(errorsOf({ acls: 'all' })).toEqual(['acls: must be an array']);
  });

  it('refuses unknown top-level keys, even next to valid acls (a typo must not be ignored)', () => {
    expect(errorsOf({ acls: [], acl: [] })).toEqual(['acl: unknown key']);
    expect(errorsOf({ acls: [], routes: [], qos: {} })).toEqual(['routes: unknown key', 'qos: unknown key']);
  });

  it('refuses unknown keys inside an ACL entry', () => {
    expect(errorsOf({ acls: [{ action: 'accept', src: ['*'], dst: ['*'], ports: '22' }] })).toEqual(['acls[0].ports: unknown key']);
  });

  it('names unknown keys that are not identifiers unambiguously', () => {
    expect(errorsOf({ acls: [], '': 1, 'a.b': 2 })).toEqual(['[""]: unknown key', '["a.b"]: unknown key']);
    expect(errorsOf({ acls: [{ action: 'accept', src: ['*'], dst: ['*'], 'src ': ['x'] }] })).toEqual(['acls[0]["src "]: unknown key']);
  });

  it('names the entry that is not an object', () => {
    expect(errorsOf({ acls: [{ action: 'accept', src: ['*'], dst: ['*'] }, 'accept', null, []] }))
      .toEqual(['acls[1]: must be an object', 'acls[2]: must be an object', 'acls[3]: must be an object']);
  });

  it('requires the action to be accept or deny', () => {
    expect(errorsOf({ acls: [{ src: ['*'], dst: ['*'] }] })).toEqual(['acls[0].action: must be "accept" or "deny"']);
    expect(errorsOf({ acls: [{ action: 'allow', src: ['*'], dst: ['*'] }] })).toEqual(['acls[0].action: must be "accept" or "deny"']);
    expect(errorsOf({ acls: [{ action: 'ACCEPT', src: ['*'], dst: ['*'] }] })).toEqual(['acls[0].action: must be "accept" or "deny"']);
  });

  it('requires src and dst as non-empty arrays', () => {
    expect(errorsOf({ acls: [{ action: 'accept', dst: ['*'] }] })).toEqual(['acls[0].src: must be an array of selectors']);
    expect(errorsOf({ acls: [{ action: 'accept', src: '*', dst: ['*'] }] })).toEqual(['acls[0].src: must be an array of selectors']);
    expect(errorsOf({ acls: [{ action: 'accept', src: ['*'], dst: [] }] })).toEqual(['acls[0].dst: must not be empty']);
  });

  it('caps the number of selectors and of ACLs', () => {
    const many = Array.from({ length: 1001 }, (_, i) => `n${i}`);
    expect(errorsOf({ acls: [{ action: 'accept', src: many, dst: ['*'] }] })).toEqual(['acls[0].src: at most 1000 selectors']);
    const acls = Array.from({ length: 10_001 }, () => ({ action: 'accept', src: ['*'], dst: ['*'] }));
    expect(errorsOf({ acls })).toEqual(['acls: at most 10000 entries']);
    expect(policyOf({ acls: acls.slice(1) }).acls).toHaveLength(10_000);
  });

  it.each(['*', 'web-1', 'a', '0', 'tag:web', 'tag:a1-b2', `n${'x'.repeat(62)}`, `tag:${'x'.repeat(63)}`])('accepts the selector %s', (selector) => {
    expect(policyOf({ acls: [{ action: 'accept', src: [selector], dst: ['*'] }]}).acls[0].src).toEqual([selector]);
  });

  it.each(['', 'Web', 'tag:', 'tag:Web', '-web', 'web-', 'tag:-x', 'group:eng', 'web_1', '**', 'tag:web,tag:db', ' web',
    `n${'x'.repeat(63)}`, `tag:${'x'.repeat(64)}`])('refuses the selector %j, naming its index', (selector) => {
    expect(errorsOf({ acls: [{ action: 'accept', src: ['*'], dst: ['db', selector] }] }))
      .toEqual(['acls[0].dst[1]: must be "*", a node name or "tag:<name>"']);
  });

  it('refuses selectors that are not strings', () => {
    expect(errorsOf({ acls: [{ action: 'accept', src: [1, null], dst: ['*'] }] }))
      .toEqual(['acls[0].src[0]: must be "*", a node name or "tag:<name>"', 'acls[0].src[1]: must be "*", a node name or "tag:<name>"']);
  });

  it('reports every error at once, in document order, each naming its JSON path', () => {
    const errors = errorsOf({
      version: 2,
      acls: [
        { action: 'accept', src: ['*'], dst: ['*'] },
        { action: 'permit', src: ['tag:Web'], dst: [], extra: true },
        7,
        { action: 'deny', src: ['ok'], dst: ['tag:db', 'BAD'] },
      ],
    });
    expect(errors).toEqual([
      'version: unknown key',
      'acls[1].extra: unknown key',
      'acls[1].action: must be "accept" or "deny"',
      'acls[1].src[0]: must be "*", a node name or "tag:<name>"',
      'acls[1].dst: must not be empty',
      'acls[2]: must be an object',
      'acls[3].dst[1]: must be "*", a node name or "tag:<name>"',
    ]);
    for (const e of errors) expect(e).toMatch(PATH);
  });

  it('names a path in every error for a pile of malformed documents', () => {
    const inputs: unknown[] = [
      {}, { acls: null }, { acls: [null] }, { acls: [{}] }, { acls: [{ action: 1, src: {}, dst: [{}] }] },
      { '': 0, acls: [{ 'x y': 1, action: 'deny', src: [''], dst: ['*'] }] }, 'nope',
    ];
    for (const input of inputs) {
      const errors = errorsOf(input);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e).toMatch(PATH);
    }
  });
});
