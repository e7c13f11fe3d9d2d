import { nodeReach } from './evaluate';
import { compile, node } from './fixtures.spec-helper';
import { parseProto } from './ports';
import { runPolicyTests } from './policy-tests';
import { parsePolicyText, parsePolicyFile, PolicyParseResult } from './policy-file';
import { openSchedulesAt } from './schedule';

/**
 * Names are the user's: ones that are also properties of every JavaScript object must mean what they say — a name,
 * or a clear error at its JSON path — and never an inherited function, nor a change to anyone's prototype.
 */
const BUILTINS = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'];
const errorsOf = (r: PolicyParseResult): string[] => (r.ok ? [] : r.errors);
const TCP_22 = [{ proto: 6, ports: [{ first: 22, last: 22 }] }];
/** JSON.parse, as a request body arrives: `__proto__` stays an own key. */
const doc = (json: string): unknown => JSON.parse(json);

afterEach(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS);
});
const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

describe.each(BUILTINS)('a policy naming %s', (name) => {
  it('given no host of that name, when it is an alias, then it is a node name or an alias error at its path', () => {
    const result = parsePolicyFile({ acls: [{ action: 'accept', src: [name], dst: [`${name}:22`] }], tests: [{ src: name, accept: [`${name}:22`] }] });
    if (name === 'constructor') {
      expect(result).toMatchObject({ ok: true, policy: { acls: [{ src: [{ kind: 'node', node: name }], dst: [{ alias: { kind: 'node', node: name } }] }] } });
    } else {
      expect(errorsOf(result)).toEqual([
        expect.stringMatching(/^acls\[0\]\.src\[0\]: .* is not a known alias/),
        expect.stringMatching(/^acls\[0\]\.dst\[0\]: .* is not a known alias/),
        expect.stringMatching(/^tests\[0\]\.src: .* is not a known alias/),
        expect.stringMatching(/^tests\[0\]\.accept\[0\]: .* is not a known alias/),
      ]);
    }
  });

  it('when it is a host, then it resolves to its address (or is refused as a host name)', () => {
    const text = `{"hosts": {"${name}": "100.64.0.9"},
      "acls": [{"action": "accept", "src": ["${name}"], "proto": "tcp", "dst": ["${name}:22"]}],
      "tests": [{"src": "${name}", "accept": ["${name}:22"], "deny": ["${name}:80"]}]}`;
    if (name === '__proto__') {
      expect(errorsOf(parsePolicyText(text))[0]).toBe('hosts.__proto__: a host name must be a plain name');
      return;
    }
    const policy = compile(text);
    const [host, other] = [node('db', '100.64.0.9'), node('other', '100.64.0.1')];
    expect(nodeReach(policy, host, host)).toEqual(TCP_22);
    expect(nodeReach(policy, other, host)).toEqual([]);
    expect(runPolicyTests(policy, [host, other])).toEqual([]);
  });

  it('when it names a group, then group:<name> is that group; a bare or inherited name is refused at its path', () => {
    const text = `{"groups": {"group:${name}": ["alice@"], "${name}": ["bob@"]}, "acls": [{"action": "accept", "src": ["group:${name}"], "proto": "tcp", "dst": ["*:22"]}]}`;
    const bare = `groups.${name}: a group name must look like "group:<name>"`;
    if (name === '__proto__') {
      expect(errorsOf(parsePolicyText(text))).toEqual([`groups["group:${name}"]: ${bare.split(': ')[1]}`, bare, `acls[0].src[0]: group:${name} is not defined in "groups"`]);
      return;
    }
    expect(errorsOf(parsePolicyText(text))).toEqual([bare]);
    const policy = compile(text.replace(`, "${name}": ["bob@"]`, ''));
    expect(nodeReach(policy, node('a', '100.64.0.1', { user: 'alice' }), node('b', '100.64.0.2'))).toEqual(TCP_22);
    expect(nodeReach(policy, node('c', '100.64.0.3', { user: 'carol' }), node('b', '100.64.0.2'))).toEqual([]);
  });

  it('when it is a tag owner or a tag, then an undefined group is refused and the tag works', () => {
    const result = parsePolicyFile(doc(`{"tagOwners": {"tag:${name}": ["group:${name}"], "${name}": ["alice@"]}, "acls": []}`));
    expect(errorsOf(result)).toEqual(name.includes('_')
      ? [`tagOwners["tag:${name}"]: a tag must look like "tag:<name>"`, `tagOwners.${name}: a tag must look like "tag:<name>"`]
      : [`tagOwners["tag:${name}"][0]: must be a user, a defined group, a tag or autogroup:admin/owner/member`, `tagOwners.${name}: a tag must look like "tag:<name>"`]);
    if (name.includes('_')) return;
    const owned = parsePolicyFile({ groups: { [`group:${name}`]: ['alice@'] }, tagOwners: { [`tag:${name}`]: [`group:${name}`] }, acls: [] });
    expect(owned.ok && owned.policy.tagOwners.get(`tag:${name}`)).toEqual([`group:${name}`]);
  });

  it('when it names a schedule, then the schedule is that one; an undefined one is refused', () => {
    const office = { timeZone: 'UTC', days: ['mon'], start: '08:00', end: '17:00' };
    const result = parsePolicyFile(doc(`{"schedules": {"${name}": ${JSON.stringify(office)}},
      "acls": [{"action": "accept", "src": ["*"], "dst": ["*"], "schedule": "${name}"}]}`));
    if (name === '__proto__') {
      expect(errorsOf(result)).toEqual([
        'schedules.__proto__: a schedule name is letters, digits, "-" and "_"',
        'acls[0].schedule: must name a schedule defined in "schedules"',
      ]);
    } else {
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(openSchedulesAt(result.policy.schedules, new Date('2026-03-02T09:00:00Z'))).toEqual(new Set([name]));
    }
    expect(errorsOf(parsePolicyFile({ acls: [{ action: 'accept', src: ['*'], dst: ['*'], schedule: name }] })))
      .toEqual(['acls[0].schedule: must name a schedule defined in "schedules"']);
  });

  it('when it is a protocol, then it is refused as one', () => {
    expect(parseProto(name)).toBeNull();
    expect(errorsOf(parsePolicyFile({ acls: [{ action: 'accept', src: ['*'], dst: ['*'], proto: name }] })))
      .toEqual(['acls[0].proto: must be a protocol name ("tcp", "udp", "icmp", ...) or number 0-255']);
  });

  it('when it is a key anywhere else, then it is an unknown key at its path, never a prototype', () => {
    const result = parsePolicyFile(doc(`{"${name}": {"acls": []}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*"], "${name}": 1}],
      "routes": {"${name}": ["n1"]}, "autoApprovers": {"${name}": [], "routes": {"${name}": ["n1"]}}}`));
    expect(errorsOf(result)).toEqual([
      `${name}: unknown key`,
      `acls[0].${name}: unknown key`,
      `routes.${name}: a route must be a prefix such as "10.1.0.0/24"`,
      `autoApprovers.${name}: unknown key`,
      `autoApprovers.routes.${name}: a route must be a prefix such as "10.1.0.0/24"`,
    ]);
  });
});
