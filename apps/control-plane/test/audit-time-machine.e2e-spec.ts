import type { AuditEntryView, RegisteredNode } from '@meshgate/contracts';
import { replay } from '../src/replay';
import {
  addMember, client, createNode, putPolicy, setupTenant, sleep, startServer, StoreKind, tagOwners, TenantSession, TestServer, wgKey,
} from './support/server';

jest.setTimeout(60_000);

/**
 * A scripted history with known answers, queried at instants on both sides of its events. The manual clock drives the
 * schedule window (and stands a day ahead, so that instants of the real log are in its past); the log's own times are
 * its `recordedAt`, read back from the audit log.
 */
const DAY = new Date(Date.now() + 24 * 3600 * 1000).toISOString().slice(0, 10);
const WEEKDAY = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][new Date(`${DAY}T00:00:00Z`).getUTCDay()];
const clockAt = (hhmm: string) => `${DAY}T${hhmm}:00Z`;
const TAGS = tagOwners('web', 'db', 'router');

const V1 = { tagOwners: TAGS, acls: [{ action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:5432'] }] };
/** As written, comments included: the version's text is this HuJSON. */
const V2_TEXT = `{
  // v2: web-2 is being retired; maintenance on db over ssh in the office hour
  "tagOwners": ${JSON.stringify(TAGS)},
  "schedules": { "office": { "timeZone": "UTC", "days": ["${WEEKDAY}"], "start": "09:00", "end": "10:00" } },
  "acls": [
    { "action": "deny", "src": ["web-2"], "proto": "tcp", "dst": ["tag:db:5432"] },
    { "action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:5432"] },
    { "action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:22"], "schedule": "office" },
    { "action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["10.9.0.0/24:80"] },
  ],
}`;
const V3 = {
  tagOwners: TAGS,
  acls: [
    { action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:5432'] },
    { action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['10.9.0.0/24:80'] },
  ],
};

const before = (at: string) => new Date(Date.parse(at) - 1).toISOString();

describe.each<StoreKind>(['sqlite', 'postgres'])('the audit time machine on %s', (store) => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let auditor: string;
  let web1: RegisteredNode;
  let web2: RegisteredNode;
  let db1: RegisteredNode;
  let router: RegisteredNode;
  /** The scripted events as the audit log lists them, by a name of the step. */
  const step: Record<string, AuditEntryView> = {};

  const get = (path: string, token = auditor) => api('GET', path, { token });
  const reach = (at: string, src: string, dst: string, port: number) =>
    get(`/api/v1/audit/reachability?at=${encodeURIComponent(at)}&src=${src}&dst=${dst}&proto=tcp&port=${port}`);

  beforeAll(async () => {
    // The clock's day ahead must not take web-1 offline: its one heartbeat holds for 100 hours.
    server = await startServer({ SCHEDULER_CLOCK: 'manual', HEARTBEAT_INTERVAL_SECONDS: '3600', OFFLINE_AFTER_MISSED_HEARTBEATS: '100' }, { store });
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'time-machine');
    auditor = await addMember(server.baseUrl, owner, 'auditor');
    const put = async (body: unknown, raw?: string) => {
      const reply = raw === undefined ? await putPolicy(server.baseUrl, owner.token, body)
        : await api('PUT', '/api/v1/policies', { token: owner.token, raw, headers: { 'content-type': 'application/hujson' } });
      expect(reply.status).toBe(200);
    };
    const pause = () => sleep(15); // every step at its own millisecond
    const clock = async (hhmm: string) => {
      expect((await api('PUT', '/api/v1/test-clock', { token: owner.token, body: { now: clockAt(hhmm) } })).status).toBe(200);
    };
    await clock('08:00');
    await put(V1); await pause();
    web1 = await createNode(server.baseUrl, owner.token, { name: 'web-1', tags: ['tag:web'] }); await pause();
    db1 = await createNode(server.baseUrl, owner.token, { name: 'db-1' }); await pause();
    expect((await api('POST', `/api/v1/nodes/${web1.id}/heartbeat`, { token: web1.nodeToken, body: { endpoint: '198.51.100.7:51820' } })).status).toBe(202);
    await pause();
    expect((await api('PUT', `/api/v1/nodes/${db1.id}/tags`, { token: owner.token, body: { tags: ['tag:db'] } })).status).toBe(200);
    await pause();
    await put(undefined, V2_TEXT); await pause();
    web2 = await createNode(server.baseUrl, owner.token, { name: 'web-2', tags: ['tag:web'] }); await pause();
    const registered = await api('POST', '/api/v1/nodes', {
      token: owner.token, body: { name: 'router', publicKey: wgKey(), tags: ['tag:router'], advertiseRoutes: ['10.9.0.0/24'] },
    });
    expect(registered.status).toBe(201);
    router = registered.body;
    await pause();
    expect((await api('PUT', `/api/v1/nodes/${router.id}/routes`, { token: owner.token, body: { approved: ['10.9.0.0/24'] } })).status).toBe(200);
    await pause();
    await clock('09:00'); await pause();
    await clock('10:00'); await pause();
    await put(V3); await pause();
    expect((await api('DELETE', `/api/v1/nodes/${web1.id}`, { token: owner.token })).status).toBe(204);

    const log = (await get('/api/v1/audit?limit=500')).body.items as AuditEntryView[];
    const find = (type: string, match: (e: AuditEntryView) => boolean = () => true) => {
      const found = log.filter((e) => e.type === type && match(e));
      expect(found).toHaveLength(1);
      return found[0];
    };
    const version = (v: number) => (e: AuditEntryView) => e.details.version === v;
    const of = (node: RegisteredNode) => (e: AuditEntryView) => e.subject === `node:${node.id}`;
    Object.assign(step, {
      v1: find('PolicyUpdated', version(1)), web1: find('NodeRegistered', of(web1)), db1: find('NodeRegistered', of(db1)),
      retag: find('NodeTagsChanged'), v2: find('PolicyUpdated', version(2)), web2: find('NodeRegistered', of(web2)),
      router: find('NodeRegistered', of(router)), approval: find('NodeRoutesApproved'), opened: find('ScheduleWindowOpened'),
      closed: find('ScheduleWindowClosed'), v3: find('PolicyUpdated', version(3)), removal: find('NodeRemoved'),
    });
  });

  afterAll(async () => {
    await server?.dispose();
  });

  /** Every question of the script: at a dozen instants, on both sides of the events that change the answers. */
  const questions = () => [
    reach(step.db1.at, 'web-1', 'db-1', 5432),
    reach(before(step.retag.at), 'web-1', 'db-1', 5432),
    reach(step.retag.at, 'web-1', 'db-1', 5432),
    reach(step.v2.at, 'web-1', 'db-1', 5432),
    reach(step.web2.at, 'web-2', 'db-1', 5432),
    reach(step.router.at, 'web-1', '10.9.0.5', 80),
    reach(step.approval.at, 'web-1', '10.9.0.5', 80),
    reach(before(step.opened.at), 'web-1', 'db-1', 22),
    reach(step.opened.at, 'web-1', 'db-1', 22),
    reach(step.closed.at, 'web-1', 'db-1', 22),
    reach(before(step.v3.at), 'web-2', 'db-1', 5432),
    reach(step.v3.at, 'web-2', 'db-1', 5432),
    reach(before(step.removal.at), 'web-1', 'db-1', 5432),
    reach(step.removal.at, 'web-1', 'db-1', 5432),
  ];

  it('answers who could reach what at each instant, with the deciding entry and the events that made it so', async () => {
    const answers = await Promise.all(questions());
    for (const a of answers) expect(a.status).toBe(200);
    const [untagged, beforeRetag, afterRetag, v2, web2Denied, noRoute, routed, beforeWindow, inWindow, afterWindow, beforeV3, v3, beforeRemoval, removed] =
      answers.map((a) => a.body);
    const positions = (a: { events: Array<{ position: number }> }) => a.events.map((e) => e.position);

    expect(untagged).toMatchObject({ allowed: false, decision: { kind: 'default-deny', policyVersion: 1 }, asOf: { position: step.db1.position } });
    expect(beforeRetag).toMatchObject({ allowed: false, asOf: { at: before(step.retag.at) } });
    expect(afterRetag).toMatchObject({
      allowed: true, proto: 'tcp', port: 5432, reach: { summary: 'tcp:5432' }, asOf: { at: step.retag.at, position: step.retag.position },
      decision: { kind: 'rule', action: 'accept', policyVersion: 1, index: 0, entry: V1.acls[0] },
      src: { id: web1.id, name: 'web-1', tags: ['tag:web'] }, dst: { node: { id: db1.id, name: 'db-1', tags: ['tag:db'] }, address: db1.address },
    });
    // The policy version's PolicyUpdated, the registrations, and the retag that put db-1 in tag:db.
    expect(positions(afterRetag)).toEqual([step.v1.position, step.web1.position, step.db1.position, step.retag.position]);
    expect(afterRetag.events[3]).toEqual({ position: step.retag.position, at: step.retag.at, type: 'NodeTagsChanged', actor: { kind: 'user', id: owner.userId } });
    expect(v2).toMatchObject({ allowed: true, decision: { kind: 'rule', action: 'accept', policyVersion: 2, index: 1 } });
    expect(web2Denied).toMatchObject({ allowed: false, decision: { kind: 'rule', action: 'deny', policyVersion: 2, index: 0, entry: { action: 'deny', src: ['web-2'] } } });
    expect(noRoute).toMatchObject({ allowed: false, decision: { kind: 'no-route' }, dst: { node: null, address: '10.9.0.5/32' } });
    expect(routed).toMatchObject({
      allowed: true, decision: { kind: 'rule', index: 3 },
      route: { prefix: '10.9.0.0/24', via: { id: router.id, name: 'router' }, approvedBy: { position: step.approval.position, type: 'NodeRoutesApproved' } },
    });
    expect(positions(routed)).toContain(step.approval.position);
    expect(beforeWindow).toMatchObject({ allowed: false, decision: { kind: 'default-deny', closedSchedules: [{ index: 2, schedule: 'office', closedBy: null }] } });
    expect(inWindow).toMatchObject({ allowed: true, decision: { kind: 'rule', index: 2, schedule: 'office' }, reach: { summary: 'tcp:22,5432' } });
    expect(positions(inWindow)).toContain(step.opened.position);
    expect(afterWindow).toMatchObject({
      allowed: false, decision: { kind: 'default-deny', closedSchedules: [{ index: 2, schedule: 'office', closedBy: { position: step.closed.position } }] },
    });
    expect(beforeV3).toMatchObject({ allowed: false, decision: { kind: 'rule', action: 'deny' } });
    expect(v3).toMatchObject({ allowed: true, decision: { kind: 'rule', action: 'accept', policyVersion: 3, index: 0 } });
    expect(beforeRemoval).toMatchObject({ allowed: true, asOf: { position: step.v3.position } });
    expect(removed).toMatchObject({ allowed: false, decision: { kind: 'not-in-mesh', node: 'src', event: { position: step.removal.position, type: 'NodeRemoved' } } });
  });

  it('lists who could reach a node, and what a node could reach, at an instant', async () => {
    const to = await get(`/api/v1/audit/access?at=${step.opened.at}&dst=db-1`);
    expect(to.status).toBe(200);
    expect(to.body).toMatchObject({ direction: 'to', policyVersion: 2, asOf: { position: step.opened.position }, node: { id: db1.id } });
    expect(to.body.nodes.map((n: { node: { name: string }; reach: { summary: string } }) => `${n.node.name} ${n.reach.summary}`))
      .toEqual(['web-1 tcp:22,5432', 'web-2 tcp:22']);
    const later = await get(`/api/v1/audit/access?at=${step.closed.at}&dst=${db1.id}`);
    expect(later.body.nodes.map((n: { node: { name: string } }) => n.node.name)).toEqual(['web-1']);
    const from = await get(`/api/v1/audit/access?at=${step.v3.at}&src=web-2`);
    expect(from.body.nodes.map((n: { node: { name: string }; reach: { summary: string } }) => `${n.node.name} ${n.reach.summary}`)).toEqual(['db-1 tcp:5432']);
  });

  it('gives the intervals in which web-1 could reach db-1, each boundary with the event that caused it', async () => {
    const to = new Date(Date.parse(step.removal.at) + 1000).toISOString();
    const reply = await get(`/api/v1/audit/timeline?src=${web1.id}&dst=db-1&from=${step.v1.at}&to=${to}`);
    expect(reply.status).toBe(200);
    const intervals = reply.body.intervals.map((i: any) => [i.from.event?.position, i.to.event?.position, i.reach.summary]);
    // v2 and v3 kept 5432 for web-1: no boundary there.
    expect(intervals).toEqual([
      [step.retag.position, step.opened.position, 'tcp:5432'],
      [step.opened.position, step.closed.position, 'tcp:22,5432'],
      [step.closed.position, step.removal.position, 'tcp:5432'],
    ]);
    expect(reply.body.intervals[0].from).toMatchObject({ at: step.retag.at, event: { type: 'NodeTagsChanged' } });
    expect(reply.body.from).toEqual({ at: step.v1.at, position: step.v1.position });
  });

  it("gives a node's status, endpoint, key and tags over time, also after its removal", async () => {
    const reply = await get(`/api/v1/nodes/${web1.id}/history`);
    expect(reply.status).toBe(200);
    expect(reply.body.node).toEqual({ id: web1.id, name: 'web-1' });
    expect(reply.body.entries.map((e: any) => [e.event.type, e.status, e.endpoint, e.tags])).toEqual([
      ['NodeRegistered', 'pending', null, ['tag:web']],
      ['NodeHeartbeatRecorded', 'online', '198.51.100.7:51820', ['tag:web']],
      ['NodeRemoved', 'removed', '198.51.100.7:51820', ['tag:web']],
    ]);
    expect(reply.body.entries[0].publicKey).toBe(web1.publicKey);
    expect((await get('/api/v1/nodes/web-1/history')).body.node.id).toBe(web1.id);
  });

  it('lists the policy versions with author and diff summary; one version carries its text as written and its diffs', async () => {
    const list = await get('/api/v1/policies/versions');
    expect(list.status).toBe(200);
    expect(list.body.versions.map((v: any) => [v.version, v.position, v.author.id])).toEqual([
      [1, step.v1.position, owner.userId], [2, step.v2.position, owner.userId], [3, step.v3.position, owner.userId],
    ]);
    const v2 = await get('/api/v1/policies/versions/2');
    expect(v2.status).toBe(200);
    expect(v2.body.text).toBe(V2_TEXT);
    expect(v2.body.diff.against).toBe(1);
    expect(v2.body.diff.structural).toEqual(expect.arrayContaining([
      { path: 'acls[0].action', op: 'changed', before: '"accept"', after: '"deny"' },
      { path: 'acls[3]', op: 'added', after: JSON.stringify({ action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['10.9.0.0/24:80'] }) },
      expect.objectContaining({ path: 'schedules', op: 'added' }),
    ]));
    expect(v2.body.diff.lines).toContainEqual(expect.objectContaining({ op: 'added', text: '  // v2: web-2 is being retired; maintenance on db over ssh in the office hour' }));
    const { structural, lines, against, ...summary } = v2.body.diff;
    expect(summary).toEqual(list.body.versions[1].diff);
    expect(summary.added).toBe(structural.filter((c: any) => c.op === 'added').length);
    expect(summary.linesAdded).toBe(lines.filter((c: any) => c.op === 'added').length);
    // The audit entry of the change carries the same summary.
    expect(step.v2.details.diff).toEqual(summary);
    expect(step.v1.details.diff).toEqual(list.body.versions[0].diff);
  });

  it('refuses bad input with a 4xx naming the field, and other roles with 403', async () => {
    const cases: Array<[string, number, RegExp]> = [
      [`/api/v1/audit/reachability?at=yesterday&src=web-1&dst=db-1`, 400, /at must be/],
      [`/api/v1/audit/reachability?at=2026-02-30T10:00:00Z&src=web-1&dst=db-1`, 400, /at must be/],
      [`/api/v1/audit/reachability?at=${clockAt('11:00')}&src=web-1&dst=db-1`, 400, /at is in the future/],
      [`/api/v1/audit/reachability?at=${step.v3.at}&src=nosuch&dst=db-1`, 404, /src: no node nosuch/],
      [`/api/v1/audit/reachability?at=${step.v3.at}&src=web-1&dst=nosuch`, 404, /dst: no node nosuch/],
      [`/api/v1/audit/reachability?at=${step.v1.at}&src=web-1&dst=db-1`, 404, /src: no node web-1/],
      [`/api/v1/audit/reachability?at=${step.v3.at}&src=web-1&dst=db-1&proto=bogus`, 400, /proto/],
      [`/api/v1/audit/reachability?at=${step.v3.at}&src=web-1&dst=db-1&port=70000`, 400, /port/],
      [`/api/v1/audit/reachability?at=${step.v3.at}&src=web-1&dst=db-1&proto=icmp&port=22`, 400, /port: icmp has no ports/],
      [`/api/v1/audit/reachability?at=${step.v3.at}&src=web_1&dst=db-1`, 400, /src must be/],
      [`/api/v1/audit/reachability?at=${step.v3.at}&src=web-1&dst=db-1&extra=1`, 400, /extra should not exist/],
      [`/api/v1/audit/access?at=${step.v3.at}`, 400, /exactly one of dst/],
      [`/api/v1/audit/access?at=${step.v3.at}&dst=db-1&src=web-2`, 400, /exactly one of dst/],
      [`/api/v1/audit/access?dst=db-1`, 400, /at must be/],
      [`/api/v1/audit/timeline?src=web-1&dst=db-1&from=${step.v3.at}&to=${step.v1.at}`, 400, /from must not be after to/],
      [`/api/v1/audit/timeline?src=web-1&dst=db-1&from=nope&to=${step.v1.at}`, 400, /from must be/],
      [`/api/v1/audit/timeline?src=web-1&dst=db-1&from=${step.v1.at}&to=${clockAt('12:00')}`, 400, /to is in the future/],
      [`/api/v1/nodes/nosuch/history`, 404, /id: no node nosuch/],
      [`/api/v1/nodes/Not_A_Node/history`, 400, /id must be/],
      [`/api/v1/policies/versions/9`, 404, /v: the policy has no version 9/],
      [`/api/v1/policies/versions/two`, 400, /v must be/],
    ];
    for (const [path, status, message] of cases) {
      const reply = await get(path);
      expect([path, reply.status]).toEqual([path, status]);
      expect(JSON.stringify(reply.body.message)).toMatch(message);
    }
    const member = await addMember(server.baseUrl, owner, 'member');
    expect((await get(`/api/v1/audit/reachability?at=${step.v3.at}&src=web-1&dst=db-1`, member)).status).toBe(403);
    expect((await get('/api/v1/policies/versions', member)).status).toBe(403);
    expect((await get(`/api/v1/audit/reachability?at=${step.v3.at}&src=web-2&dst=db-1`, owner.token)).status).toBe(200);
  });

  it("answers another tenant's ids with 404, as unknown ones", async () => {
    const other = await setupTenant(server.baseUrl, 'elsewhere');
    const theirs = await createNode(server.baseUrl, other.token, { name: 'web-1' });
    for (const path of [
      `/api/v1/audit/reachability?at=${step.v3.at}&src=${web2.id}&dst=${db1.id}`,
      `/api/v1/audit/reachability?at=${step.v3.at}&src=${theirs.id}&dst=${db1.id}`,
      `/api/v1/audit/access?at=${step.v3.at}&dst=${db1.id}`,
      `/api/v1/audit/timeline?src=${web1.id}&dst=${db1.id}&from=${step.v1.at}&to=${step.v3.at}`,
      `/api/v1/nodes/${web1.id}/history`,
      `/api/v1/policies/versions/1`,
    ]) {
      expect([path, (await get(path, other.token)).status]).toEqual([path, 404]);
    }
    // Their own web-1 is theirs alone: the name resolves in their tenant.
    expect((await get(`/api/v1/nodes/web-1/history`, other.token)).body.node.id).toBe(theirs.id);
    expect((await get('/api/v1/policies/versions', other.token)).body.versions).toEqual([]);
  });

  it('gives the same answers after a restart on the same data, and after a full replay', async () => {
    const answers = async () => (await Promise.all([
      ...questions(),
      get(`/api/v1/audit/access?at=${step.opened.at}&dst=db-1`),
      get(`/api/v1/audit/timeline?src=${web1.id}&dst=db-1&from=${step.v1.at}&to=${step.removal.at}`),
      get(`/api/v1/nodes/${web1.id}/history`),
      get('/api/v1/policies/versions/2'),
    ])).map((r) => [r.status, r.body]);
    const first = await answers();
    await server.restart();
    api = client(server);
    expect(await answers()).toEqual(first);
    await server.stop();
    const lines: string[] = [];
    expect(await replay({ databasePath: server.databasePath, databaseUrl: server.databaseUrl }, { full: true }, (l) => lines.push(l))).toBe(true);
    expect(lines.join('\n')).toMatch(/read models identical/);
    await server.restart();
    api = client(server);
    expect(await answers()).toEqual(first);
  });
});
