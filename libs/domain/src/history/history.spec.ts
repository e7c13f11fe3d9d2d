import type { RecordedEvent } from '../shared/event';
import { formatReach } from '../policy/ports';
import { accessList, explainReachability } from './reachability';
import { nodeHistory } from './node-history';
import { diffPolicyVersions, lineDiff, structuralDiff } from './policy-diff';
import { reachabilityScope, TenantHistory, usersNamedBy } from './tenant-history';
import { reachTimeline } from './timeline';

const T = 'tenant-1';
let position = 0;
const at = (n: number) => new Date(Date.UTC(2026, 10, 1, 14, 0, n)).toISOString();
/** A recorded event at second `second` of 2026-11-01 14:00 UTC, positions in order. */
function ev(type: string, data: Record<string, unknown>, second: number, streamId = `node-${data.nodeId ?? 'x'}`): RecordedEvent {
  return { position: ++position, tenantId: T, streamId, streamVersion: 1, type, data, metadata: { actor: { kind: 'user', id: 'admin' } }, recordedAt: at(second) };
}
const registered = (nodeId: string, name: string, address: string, tags: string[], second: number, extra: Record<string, unknown> = {}) =>
  ev('NodeRegistered', { nodeId, tenantId: T, name, publicKey: `key-${nodeId}`, address, endpoint: null, listenPort: 51820, tags, tokenHash: 'h', enrollmentKeyId: null, ...extra }, second);
const policy = (version: number, document: unknown, second: number) =>
  ev('PolicyUpdated', { tenantId: T, version, policy: document }, second, `policy-${T}`);

const TAGS = { 'tag:web': ['autogroup:admin'], 'tag:db': ['autogroup:admin'], 'tag:router': ['autogroup:admin'] };
const V1 = { tagOwners: TAGS, acls: [{ action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:5432'] }] };
const V2 = {
  tagOwners: TAGS,
  schedules: { office: { timeZone: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '09:00', end: '17:00' } },
  acls: [
    { action: 'deny', src: ['web-2'], proto: 'tcp', dst: ['tag:db:5432'] },
    { action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:5432,6432'] },
    { action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:22'], schedule: 'office' },
    { action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['10.9.0.0/24:80'] },
  ],
};

function history(events: RecordedEvent[]): TenantHistory {
  const h = new TenantHistory(T);
  for (const e of events) h.apply(e);
  return h;
}

describe('the tenant history (what the audit time machine folds)', () => {
  position = 0;
  const events = [
    policy(1, V1, 0),
    registered('w1', 'web-1', '100.64.0.1', ['tag:web'], 1),
    registered('w2', 'web-2', '100.64.0.2', ['tag:web'], 2),
    registered('d1', 'db-1', '100.64.0.3', [], 3),
    ev('NodeTagsChanged', { nodeId: 'd1', tags: ['tag:db'] }, 4),
    policy(2, V2, 5),
    ev('ScheduleWindowOpened', { tenantId: T, schedule: 'office', at: at(6) }, 6, `schedule-${T}`),
    registered('r1', 'router', '100.64.0.4', ['tag:router'], 7, { advertisedRoutes: ['10.9.0.0/24'] }),
    ev('NodeRoutesApproved', { nodeId: 'r1', routes: ['10.9.0.0/24'] }, 8),
    ev('ScheduleWindowClosed', { tenantId: T, schedule: 'office', at: at(9) }, 9, `schedule-${T}`),
    ev('NodeRemoved', { nodeId: 'w1', publicKey: 'key-w1' }, 10),
  ];
  const upTo = (second: number) => history(events.filter((e) => e.recordedAt <= at(second)));
  const node = (h: TenantHistory, name: string) => h.find(name)!;

  it('given the events, then only reachability events are indexed, tenants by id and users by user', () => {
    expect(events.map(reachabilityScope)).toEqual(events.map(() => T));
    expect(reachabilityScope({ type: 'NodeSeen', data: {}, tenantId: T })).toBeNull();
    expect(reachabilityScope({ type: 'UserGroupsChanged', data: { userId: 'u1', groups: [] }, tenantId: null })).toBe('user:u1');
    expect(usersNamedBy([{ type: 'MemberAdded', data: { tenantId: T, userId: 'u2', role: 'admin' } }, registered('n', 'n', '100.64.0.9', [], 0, { owner: 'u1' })]))
      .toEqual(['u1', 'u2']);
  });

  it('when db-1 is untagged, then web-1 may not reach it: default deny, with the events that placed both nodes', () => {
    const h = upTo(3);
    const answer = explainReachability(h, node(h, 'web-1'), { node: node(h, 'db-1') }, { proto: 6, port: 5432 });
    expect(answer.allowed).toBe(false);
    expect(answer.decision).toEqual({ kind: 'default-deny' });
    expect(answer.events.map((e) => e.position)).toEqual([1, 2, 4]);
  });

  it('when the retag put db-1 in tag:db, then web-1 may reach it on 5432 by entry 0 of v1, and the retag is named', () => {
    const h = upTo(4);
    const answer = explainReachability(h, node(h, 'web-1'), { node: node(h, 'db-1') }, { proto: 6, port: 5432 });
    expect(answer).toMatchObject({ allowed: true, decision: { kind: 'rule', action: 'accept', index: 0, entry: V1.acls[0] } });
    expect(answer.events.map((e) => e.type)).toEqual(['PolicyUpdated', 'NodeRegistered', 'NodeRegistered', 'NodeTagsChanged']);
    expect(formatReach(answer.reach)).toBe('tcp:5432');
  });

  it('when v2 denies web-2, then the deny entry decides, and web-1 keeps 5432 by the second entry', () => {
    const h = upTo(5);
    expect(explainReachability(h, node(h, 'web-2'), { node: node(h, 'db-1') }, { proto: 6, port: 5432 }).decision)
      .toMatchObject({ kind: 'rule', action: 'deny', index: 0 });
    expect(explainReachability(h, node(h, 'web-1'), { node: node(h, 'db-1') }, { proto: 6, port: 5432 }).decision)
      .toMatchObject({ kind: 'rule', action: 'accept', index: 1 });
  });

  it('when the office window is open, then port 22 is allowed by the scheduled entry and the opening is named; after it closes, default deny names the closing', () => {
    const open = upTo(6);
    const during = explainReachability(open, node(open, 'web-1'), { node: node(open, 'db-1') }, { proto: 6, port: 22 });
    expect(during.decision).toMatchObject({ kind: 'rule', index: 2, schedule: 'office' });
    expect(during.events.map((e) => e.type)).toContain('ScheduleWindowOpened');
    const closed = upTo(9);
    const after = explainReachability(closed, node(closed, 'web-1'), { node: node(closed, 'db-1') }, { proto: 6, port: 22 });
    expect(after.allowed).toBe(false);
    expect(after.decision).toMatchObject({ kind: 'default-deny', closedSchedules: [{ index: 2, schedule: 'office', closedBy: { position: 10 } }] });
  });

  it('when a route is approved, then an address behind the router is reachable through it, the approval named', () => {
    const before = upTo(7);
    expect(explainReachability(before, node(before, 'web-1'), { prefix: '10.9.0.5/32' }, { proto: 6, port: 80 }).decision).toEqual({ kind: 'no-route' });
    const h = upTo(8);
    const answer = explainReachability(h, node(h, 'web-1'), { prefix: '10.9.0.5/32' }, { proto: 6, port: 80 });
    expect(answer.allowed).toBe(true);
    expect(answer.route).toMatchObject({ prefix: '10.9.0.0/24', via: { name: 'router' }, approvedBy: { position: 9, type: 'NodeRoutesApproved' } });
    expect(answer.decision).toMatchObject({ kind: 'rule', index: 3 });
  });

  it('when web-1 is removed, then it reaches nothing, the removal named; access lists only what is in the mesh', () => {
    const h = upTo(10);
    expect(explainReachability(h, node(h, 'web-1'), { node: node(h, 'db-1') }, {}).decision)
      .toMatchObject({ kind: 'not-in-mesh', node: 'src', event: { type: 'NodeRemoved' } });
    const who = accessList(upTo(8), node(upTo(8), 'db-1'), 'to').map((a) => `${a.node.name} ${formatReach(a.reach)}`);
    expect(who).toEqual(['web-1 tcp:22,5432,6432', 'web-2 tcp:22,6432']);
    expect(accessList(h, node(h, 'db-1'), 'to').map((a) => a.node.name)).toEqual(['web-2']);
  });

  it('then the timeline of web-1 → db-1 has one interval per change of what it may reach, each boundary an event', () => {
    const start = upTo(0);
    const later = events.filter((e) => e.recordedAt > at(0));
    const intervals = reachTimeline(start, later, 'w1', 'd1', { from: at(0), fromPosition: 1, to: at(20), toPosition: 11 });
    expect(intervals.map((i) => [i.from.event?.type ?? null, i.to.event?.type ?? null, formatReach(i.reach)])).toEqual([
      ['NodeTagsChanged', 'PolicyUpdated', 'tcp:5432'],
      ['PolicyUpdated', 'ScheduleWindowOpened', 'tcp:5432,6432'],
      ['ScheduleWindowOpened', 'ScheduleWindowClosed', 'tcp:22,5432,6432'],
      ['ScheduleWindowClosed', 'NodeRemoved', 'tcp:5432,6432'],
    ]);
  });
});

describe('a node history', () => {
  it('given its stream, then each change of status, endpoint, key or tags is one entry and idle heartbeats none', () => {
    position = 0;
    const id = 'n1';
    const stream = [
      registered(id, 'n1', '100.64.0.1', [], 0),
      ev('NodeHeartbeatRecorded', { endpoint: '198.51.100.1:51820' }, 1),
      ev('NodeSeen', {}, 2),
      ev('NodeSeen', {}, 3),
      ev('NodeTagsChanged', { nodeId: id, tags: ['tag:web'] }, 4),
      ev('NodeKeyRotated', { nodeId: id, publicKey: 'key-2', previousPublicKey: `key-${id}` }, 5),
      ev('NodeRemoved', { nodeId: id, publicKey: 'key-2' }, 6),
    ].map((e) => ({ ...e, streamId: `node-${id}` }));
    expect(nodeHistory(stream).map((e) => [e.event.type, e.status, e.endpoint, e.publicKey, e.tags.join()])).toEqual([
      ['NodeRegistered', 'pending', null, 'key-n1', ''],
      ['NodeHeartbeatRecorded', 'online', '198.51.100.1:51820', 'key-n1', ''],
      ['NodeTagsChanged', 'online', '198.51.100.1:51820', 'key-n1', 'tag:web'],
      ['NodeKeyRotated', 'online', '198.51.100.1:51820', 'key-2', 'tag:web'],
      ['NodeRemoved', 'removed', '198.51.100.1:51820', 'key-2', 'tag:web'],
    ]);
  });
});

describe('policy diffs', () => {
  it('given two documents, then the structural diff names each changed value by JSON path', () => {
    expect(structuralDiff(V1, V2).map((c) => `${c.op} ${c.path}`)).toEqual([
      'changed acls[0].action', 'changed acls[0].src[0]', 'added acls[1]', 'added acls[2]', 'added acls[3]', 'added schedules',
    ]);
    expect(structuralDiff({ tagOwners: { 'tag:a': ['x'] } }, { tagOwners: {} })).toEqual([{ path: 'tagOwners["tag:a"]', op: 'removed', before: ['x'] }]);
  });

  it('given two texts, then the line diff keeps common lines and marks the rest, with line numbers', () => {
    expect(lineDiff('a\nb\nc\nd', 'a\nc\nx\nd')).toEqual([
      { op: 'context', before: 1, after: 1, text: 'a' },
      { op: 'removed', before: 2, text: 'b' },
      { op: 'context', before: 3, after: 2, text: 'c' },
      { op: 'added', after: 3, text: 'x' },
      { op: 'context', before: 4, after: 4, text: 'd' },
    ]);
  });

  it('given a first version, then everything is added; HuJSON comments count as lines', () => {
    const first = diffPolicyVersions(null, { policy: V1, text: '// v1\n{"acls": []}' });
    expect(first.summary).toEqual({ added: 2, removed: 0, changed: 0, linesAdded: 2, linesRemoved: 0 });
    const again = diffPolicyVersions({ policy: V1, text: '// v1\n{"acls": []}' }, { policy: V1, text: '// v1, reviewed\n{"acls": []}' });
    expect(again.summary).toEqual({ added: 0, removed: 0, changed: 0, linesAdded: 1, linesRemoved: 1 });
  });
});
