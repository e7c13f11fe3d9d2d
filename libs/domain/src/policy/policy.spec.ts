import { deciderSpec } from '../testing/given';
import { DomainError } from '../shared/domain-error';
import { checkPolicy, decidePolicy, decideScheduleWindows, EMPTY_POLICY, evolvePolicy, initialPolicyState, PolicyUpdated } from './policy';

/** A document in the first API's shape (acls of action, src, dst), which the policy file reads with the same meaning. */
type PolicyDocument = { acls: Array<{ action: 'accept' | 'deny'; src: string[]; dst: string[] }> };

const given = deciderSpec(decidePolicy, evolvePolicy, initialPolicyState);

const meshAll: PolicyDocument = { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] };
const webToDb: PolicyDocument = { acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db'] }] };
const updated = (version: number, policy: PolicyDocument): PolicyUpdated => ({ type: 'PolicyUpdated', data: { tenantId: 't1', version, policy } });

describe('policy decider', () => {
  it('starts at version 0 with the empty (deny-all) policy', () => {
    expect(initialPolicyState).toEqual({ version: 0, policy: EMPTY_POLICY });
    expect(EMPTY_POLICY.acls).toEqual([]);
  });

  it('the first update is version 1', () => {
    given([]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll }).then([updated(1, meshAll)]);
  });

  it('each update raises the version by one', () => {
    given([updated(1, meshAll), updated(2, webToDb)]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll }).then([updated(3, meshAll)]);
  });

  it('accepts an update whose expected version is the current one', () => {
    given([updated(1, meshAll)]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: webToDb, expectedVersion: 1 }).then([updated(2, webToDb)]);
    given([]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: webToDb, expectedVersion: 0 }).then([updated(1, webToDb)]);
  });

  it('refuses an update made against a stale version (lost-update guard)', () => {
    given([updated(1, meshAll), updated(2, webToDb)])
      .when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll, expectedVersion: 1 })
      .thenThrows('POLICY_VERSION_MISMATCH');
    given([]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll, expectedVersion: 3 }).thenThrows('POLICY_VERSION_MISMATCH');
  });

  it('evolves to the latest document and version', () => {
    expect([updated(1, meshAll), updated(2, webToDb)].reduce(evolvePolicy, initialPolicyState)).toEqual({ version: 2, policy: webToDb });
  });
});

describe('checkPolicy', () => {
  const nodes = [
    { id: 'n1', name: 'n1', tags: [], addresses: ['100.64.0.1'] },
    { id: 'n2', name: 'n2', tags: [], addresses: ['100.64.0.2'] },
  ];
  const refusal = (fn: () => unknown): DomainError => {
    try {
      fn();
    } catch (err) {
      return err as DomainError;
    }
    throw new Error('expected a refusal');
  };

  it('reads HuJSON text, keeps its JSON value and names keys it does not enforce', () => {
    const checked = checkPolicy(`{
      // n1 may reach n2's web port
      "acls": [{ "action": "accept", "src": ["n1"], "dst": ["n2:8080"] },],
      "ssh": [],
    }`, nodes);
    expect(checked.document).toEqual({ acls: [{ action: 'accept', src: ['n1'], dst: ['n2:8080'] }], ssh: [] });
    expect(checked.warnings.join('\n')).toMatch(/ssh/);
  });

  it('refuses unknown keys and bad values, naming each JSON path', () => {
    const err = refusal(() => checkPolicy({ acls: [{ action: 'allow', src: ['n1'], dst: ['n2:99999'] }], acl: [] }, nodes));
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.details!.join('\n')).toMatch(/acls\[0\]\.action/);
    expect(err.details!.join('\n')).toMatch(/acls\[0\]\.dst\[0\]/);
    expect(err.details!.join('\n')).toMatch(/\bacl\b/);
  });

  it('refuses a document whose tests fail, listing each failing assertion', () => {
    const err = refusal(() => checkPolicy({
      acls: [{ action: 'accept', src: ['n1'], dst: ['n2:8080'] }],
      tests: [{ src: 'n1', accept: ['n2:8080', 'n2:22'], deny: ['n2:8080'] }],
    }, nodes));
    expect(err.code).toBe('POLICY_TESTS_FAILED');
    expect(err.details).toEqual([expect.stringMatching(/^tests\[0\]\.accept\[1\]: n1 should reach n2:22/), expect.stringMatching(/^tests\[0\]\.deny\[0\]: /)]);
  });

  it('given names that are JavaScript built-ins, then they are names: a refusal at their path, or a test that holds', () => {
    const text = '{"__proto__": {"acls": []}, "hosts": {"toString": "100.64.0.2"}, "acls": [{"action": "accept", "src": ["constructor"], "dst": ["toString:22"]}], '
      + '"tests": [{"src": "constructor", "accept": ["toString:22"]}, {"src": "valueOf", "accept": ["hasOwnProperty:22"]}]}';
    const err = refusal(() => checkPolicy(text, [...nodes, { id: 'c', name: 'constructor', tags: [], addresses: ['100.64.0.3'] }]));
    expect(err).toBeInstanceOf(DomainError);
    expect(err.details).toEqual([
      '__proto__: unknown key',
      'tests[1].src: "valueOf" is not a known alias ("*", a user "name@", "group:", "tag:", a host, a node name, an IP or prefix, "autogroup:")',
      'tests[1].accept[0]: "hasOwnProperty:22" is not a known alias ("*", a user "name@", "group:", "tag:", a host, a node name, an IP or prefix, "autogroup:")',
    ]);
    const checked = checkPolicy(text.replace('"__proto__": {"acls": []}, ', '').replace(', {"src": "valueOf", "accept": ["hasOwnProperty:22"]}', ''),
      [...nodes, { id: 'c', name: 'constructor', tags: [], addresses: ['100.64.0.3'] }]);
    expect(checked.policy.hosts).toEqual(new Map([['toString', '100.64.0.2/32']]));
    expect(({} as Record<string, unknown>).acls).toBeUndefined();
  });

  it('a v1 document stays valid', () => {
    expect(checkPolicy(meshAll, nodes).warnings).toEqual([]);
  });
});

describe('decideScheduleWindows', () => {
  const policy = (checkPolicy({
    schedules: { office: { timeZone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' } },
    acls: [{ action: 'accept', src: ['*'], dst: ['*:*'], schedule: 'office' }],
  }, [])).policy;

  it('opens a window that is due and closes one that is over or no longer in the policy', () => {
    const monday10 = new Date('2026-11-23T09:00:00Z'); // 10:00 in Berlin
    expect(decideScheduleWindows('t1', policy, new Set(), monday10)).toEqual([
      { type: 'ScheduleWindowOpened', data: { tenantId: 't1', schedule: 'office', at: monday10.toISOString() } },
    ]);
    expect(decideScheduleWindows('t1', policy, new Set(['office']), monday10)).toEqual([]);
    const monday18 = new Date('2026-11-23T17:00:00Z');
    expect(decideScheduleWindows('t1', policy, new Set(['office', 'gone']), monday18).map((e) => [e.type, e.data.schedule])).toEqual([
      ['ScheduleWindowClosed', 'gone'], ['ScheduleWindowClosed', 'office'],
    ]);
  });
});
