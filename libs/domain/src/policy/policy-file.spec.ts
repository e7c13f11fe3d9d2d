import { parsePolicyText, parsePolicyFile, PolicyParseResult } from './policy-file';

const errorsOf = (r: PolicyParseResult): string[] => (r.ok ? [] : r.errors);

describe('parsePolicyFile', () => {
  it('given a Tailscale-style HuJSON document, when parsed, then groups, hosts, ports and protocols are understood', () => {
    const result = parsePolicyText(`{
      // Tailscale-style file, as people bring it
      "groups": { "group:eng": ["alice@", "bob@example.com"], },
      "tagOwners": { "tag:prod": ["group:eng"], "tag:dev": ["autogroup:admin"] },
      "hosts": { "db": "100.64.0.9", "lan": "10.1.0.0/24" },
      "acls": [
        { "action": "accept", "src": ["group:eng"], "dst": ["tag:dev:*", "tag:prod:80,443", "db:5432"] },
        { "action": "accept", "src": ["tag:dev"], "proto": "udp", "dst": ["lan:1000-2000"] },
      ],
      "tests": [ { "src": "alice@", "accept": ["tag:prod:443"], "deny": ["tag:prod:22"] } ],
    }`);
    expect(result).toMatchObject({ ok: true, warnings: [] });
    if (!result.ok) return;
    const { policy } = result;
    expect(policy.groups).toEqual(new Map([['group:eng', ['alice', 'bob@example.com']]]));
    expect(policy.hosts).toEqual(new Map([['db', '100.64.0.9/32'], ['lan', '10.1.0.0/24']]));
    expect(policy.acls[0].dst.map((d) => [d.alias, d.ports])).toEqual([
      [{ kind: 'tag', tag: 'tag:dev' }, [{ first: 0, last: 65535 }]],
      [{ kind: 'tag', tag: 'tag:prod' }, [{ first: 80, last: 80 }, { first: 443, last: 443 }]],
      [{ kind: 'host', host: 'db' }, [{ first: 5432, last: 5432 }]],
    ]);
    expect(policy.acls[0].protos).toEqual([1, 6, 17, 58]);
    expect(policy.acls[1]).toMatchObject({ protos: [17], dst: [{ alias: { kind: 'host', host: 'lan' }, ports: [{ first: 1000, last: 2000 }] }] });
    expect(policy.tests[0]).toMatchObject({ src: { kind: 'user', user: 'alice' }, srcText: 'alice@' });
  });

  it('given a v1 document, when parsed, then it means the same: node names and tags, no ports = all ports', () => {
    const result = parsePolicyFile({ acls: [{ action: 'deny', src: ['tag:ci'], dst: ['db1'] }, { action: 'accept', src: ['*'], dst: ['*'] }] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.acls).toEqual([
      { action: 'deny', src: [{ kind: 'tag', tag: 'tag:ci' }], dst: [{ alias: { kind: 'node', node: 'db1' }, text: 'db1', ports: [{ first: 0, last: 65535 }] }], protos: [1, 6, 17, 58] },
      { action: 'accept', src: [{ kind: 'all' }], dst: [{ alias: { kind: 'all' }, text: '*', ports: [{ first: 0, last: 65535 }] }], protos: [1, 6, 17, 58] },
    ]);
  });

  it('accepts keys of Tailscale that MeshGate does not enforce, with one warning naming each', () => {
    const result = parsePolicyFile({ acls: [], ssh: [], nodeAttrs: [], derpMap: {}, randomizeClientPort: true });
    expect(result).toEqual(expect.objectContaining({ ok: true }));
    expect(result.warnings).toEqual([
      'ssh: accepted but not enforced by MeshGate',
      'nodeAttrs: accepted but not enforced by MeshGate',
      'derpMap: accepted but not enforced by MeshGate',
      'randomizeClientPort: accepted but not enforced by MeshGate',
    ]);
  });

  it('refuses unknown keys anywhere, naming the JSON path', () => {
    const result = parsePolicyFile({ acl: [], acls: [{ action: 'accept', src: ['*'], dst: ['*'], prot: 'tcp' }], schedules: { night: { timeZone: 'UTC', days: ['mon'], start: '22:00', end: '06:00', tz: 1 } } });
    expect(errorsOf(result)).toEqual(['acl: unknown key', 'schedules.night.tz: unknown key', 'acls[0].prot: unknown key']);
  });

  it('names the JSON path of each invalid value', () => {
    const result = parsePolicyFile({
      groups: { 'group:eng': ['alice'] },
      acls: [
        { action: 'allow', src: ['group:ops'], dst: ['tag:web:99999', 'autogroup:self:*'] },
        { action: 'accept', src: ['autogroup:internet'], proto: 'icmp', dst: ['*:22'] },
      ],
      qos: [{ src: ['*'], dst: ['*'], rateMbit: 0, schedule: 'nope' }],
    });
    expect(errorsOf(result)).toEqual([
      'groups["group:eng"][0]: must be a user ("alice@" or "alice@example.com") or an IdP group ("idp:engineering"), got "alice"',
      'acls[0].action: must be "accept" or "deny"',
      'acls[0].src[0]: group:ops is not defined in "groups"',
      'acls[0].dst[0]: ports must be "*", "22", "80,443" or "1000-2000" (0 to 65535)',
      'acls[1].src[0]: autogroup:internet can only be used in an ACL destination',
      'acls[1].dst[0]: this protocol has no ports: use "*"',
      'qos[0].rateMbit: must be a number above 0 and at most 100000',
      'qos[0].schedule: must name a schedule defined in "schedules"',
    ]);
  });

  it('parses schedules, routes and autoApprovers', () => {
    const result = parsePolicyFile({
      schedules: { office: { timeZone: 'Europe/Berlin', days: ['mon', 'fri'], start: '08:30', end: '24:00' } },
      acls: [{ action: 'accept', src: ['tag:staff'], dst: ['10.1.0.0/24:*'], schedule: 'office' }],
      qos: [{ src: ['n1'], dst: ['n2'], rateMbit: 20 }],
      routes: { '10.1.0.0/24': ['n3'], '0.0.0.0/0': ['tag:exit'] },
      autoApprovers: { routes: { '10.2.0.0/16': ['tag:router', 'group:eng'] }, exitNode: ['tag:exit'] },
      groups: { 'group:eng': [] },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.schedules.get('office')).toEqual({ timeZone: 'Europe/Berlin', days: ['mon', 'fri'], start: 510, end: 1440 });
    expect(result.policy.acls[0].schedule).toBe('office');
    expect(result.policy.routes).toEqual([
      { prefix: '10.1.0.0/24', via: [{ kind: 'node', node: 'n3' }] },
      { prefix: '0.0.0.0/0', via: [{ kind: 'tag', tag: 'tag:exit' }] },
    ]);
    expect(result.policy.autoApprovers.exitNode).toEqual([{ kind: 'tag', tag: 'tag:exit' }]);
  });

  it('reads relays (a MeshGate extension; absent: none) as nodes named or tagged, nothing else', () => {
    const result = parsePolicyFile({ acls: [], relays: ['relay-1', 'tag:relay'] });
    expect(result.ok && result.policy.relays).toEqual([{ kind: 'node', node: 'relay-1' }, { kind: 'tag', tag: 'tag:relay' }]);
    const none = parsePolicyFile({ acls: [] });
    expect(none.ok && none.policy.relays).toEqual([]);
    expect(errorsOf(parsePolicyFile({ acls: [], groups: { 'group:ops': [] }, relays: ['group:ops', 'ops@', '*', '10.0.0.1', 'tag:relay'] }, { strict: true }))).toEqual([
      'relays[0]: a relay is a node: use a node name or a tag',
      'relays[1]: a relay is a node: use a node name or a tag',
      'relays[2]: "*" is not allowed here',
      'relays[3]: an address is not allowed here',
      'relays[4]: tag:relay is not declared in "tagOwners"',
    ]);
    expect(errorsOf(parsePolicyFile({ acls: [], relays: 'relay-1' }))).toEqual([expect.stringMatching(/^relays: /)]);
  });

  it('asks for acls to be written down: Tailscale reads a file without them as allow-all, MeshGate denies by default', () => {
    expect(errorsOf(parsePolicyFile({ groups: {} }))).toEqual([expect.stringMatching(/^acls: required/)]);
    expect(parsePolicyFile({ acls: [] }).ok).toBe(true);
  });

  it('refuses a bad schedule', () => {
    const result = parsePolicyFile({ acls: [], schedules: { s: { timeZone: 'Mars/Olympus', days: ['mon', 'funday', 'mon'], start: '25:00', end: '9:00' } } });
    expect(errorsOf(result)).toEqual([
      'schedules.s.timeZone: must be an IANA time zone such as "Europe/Berlin"',
      'schedules.s.days[1]: must be one of mon, tue, wed, thu, fri, sat, sun',
      'schedules.s.days[2]: is listed twice',
      'schedules.s.start: must be "HH:MM" (00:00 to 24:00)',
      'schedules.s.end: must be "HH:MM" (00:00 to 24:00)',
    ]);
  });

  it('reports a HuJSON syntax error with line and column', () => {
    expect(errorsOf(parsePolicyText('{\n  "acls": [\n    {"action": "accept" "src": []}\n  ]\n}'))).toEqual([
      expect.stringMatching(/^policy: line 3, column 25: /),
    ]);
  });
});
