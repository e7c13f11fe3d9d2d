/**
 * Several replicas on one PostgreSQL database, as `DATABASE_URL=postgres://… npm start` on several machines gives
 * them: each a child process of the built server (`npm run build` first), killed with SIGKILL where the spec says so.
 * What it holds them to (issue 11): a change through any replica reaches every affected stream on every replica as
 * patches within one replica's budget; an agent whose replica died resumes on another with Last-Event-ID and gets
 * only what it missed; no acknowledged write is lost; the once-per-deployment sweeper moves to a survivor and marks a
 * silent node offline once; parallel writes through all replicas keep one verifiable hash chain.
 */
import { Client } from 'pg';
import type { NodeConfig, RegisteredNode } from '@meshgate/contracts';
import { replay } from '../src/replay';
import { createTestDatabase, dropTestDatabase, requirePostgres, uniqueDatabaseName } from './support/postgres';
import { Replica, Replicas } from './support/replicas';
import {
  createNode, eventually, HEARTBEAT_EVENTS, putPolicy, request, Reply, setupTenant, sleep, tagOwners, TenantSession, wgKey,
} from './support/server';
import { SseClient, SseFrame, sseUrl } from './support/sse';

jest.setTimeout(180_000);

/** The budget a change has to reach every affected stream, on any replica (the single-replica specs allow 1 s). */
const BUDGET_MS = 2_000;
/** How long a stream that should get nothing is watched after the affected ones got theirs. */
const QUIET_MS = 400;
/** A node silent for 2 heartbeat intervals of 1 s goes offline; the leader sweeps every 200 ms. */
const REPLICA_ENV = { HEARTBEAT_INTERVAL_SECONDS: '1', OFFLINE_AFTER_MISSED_HEARTBEATS: '2', SWEEP_INTERVAL_MS: '200' };

const WEB_DB = { action: 'accept', src: ['tag:web'], dst: ['tag:db'] };
const OPS_DB = { action: 'accept', src: ['tag:ops'], dst: ['tag:db'] };
/** Tags are declared and owned before they are put on nodes; `load` is in no rule (its nodes touch nobody's config). */
const TAGS = tagOwners('web', 'db', 'ops', 'load');
const policy = (...acls: object[]) => ({ tagOwners: TAGS, acls });

type Group = 'web' | 'db' | 'ops';
interface Member {
  node: RegisteredNode;
  group: Group;
  stream: SseClient;
  replica: Replica;
  /** Frames already checked. */
  seen: number;
}

const keys = (peers: { publicKey: string }[]) => peers.map((p) => p.publicKey).sort();
const lastId = (stream: SseClient) => Number(stream.frames[stream.frames.length - 1].id);
/** The version of the last frame a member's checks have seen (newer ones may have arrived since). */
const checkedId = (m: { stream: SseClient; seen: number }) => Number(m.stream.frames[m.seen - 1].id);

describe('three control-plane replicas on one PostgreSQL database', () => {
  let databaseName: string;
  let databaseUrl: string;
  let pg: Client;
  let replicas: Replicas;
  let a: Replica;
  let b: Replica;
  let c: Replica;
  let d: Replica;
  let owner: TenantSession;
  const members: Member[] = [];
  const extraStreams: SseClient[] = [];
  const latencies: number[] = [];

  const sql = async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) => (await pg.query<T>(text, params)).rows;
  /** The replica holding the jobs' advisory lock, by its session's application_name (null when nobody holds it). */
  const leaders = async () => (await sql<{ name: string }>(
    `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  )).map((r) => r.name);
  const streamEvents = (nodeId: string) => sql<{ position: string; type: string; recorded_at: string }>(
    `SELECT e.position, e.type, e.recorded_at FROM events e JOIN streams s ON s.ref = e.stream_ref
     WHERE s.stream_id = $1 ORDER BY e.position`, [`node-${nodeId}`]);
  const head = async () => Number((await sql<{ position: string }>('SELECT position FROM chain_head WHERE id = 1'))[0].position);

  const byGroup = (group: Group) => members.filter((m) => m.group === group);
  const keysOf = (group: Group) => byGroup(group).map((m) => m.node.publicKey).sort();

  /** Frames a member got since the last check (and marks them checked). */
  const fresh = (m: Member): SseFrame[] => {
    const frames = m.stream.frames.slice(m.seen);
    m.seen = m.stream.frames.length;
    return frames;
  };

  /**
   * Waits for one patch on each affected member's stream (wherever it streams from), checks it against `expected`
   * and the budget, and that the unaffected streams got nothing at all.
   */
  async function expectPatches(
    started: number, affected: Member[], expected: (m: Member) => { upserted: string[]; removed: string[] },
  ): Promise<void> {
    const unaffected = members.filter((m) => !affected.includes(m) && !m.stream.ended);
    await Promise.all(affected.map(async (m) => {
      const base = checkedId(m);
      const patch = await m.stream.waitFor((f) => f.event === 'patch', BUDGET_MS + 1_000, m.seen);
      const latency = patch.receivedAt - started;
      latencies.push(latency);
      expect({ node: m.node.name, on: m.replica.name, latency: latency < BUDGET_MS }).toEqual({ node: m.node.name, on: m.replica.name, latency: true });
      expect(patch.data.baseVersion).toBe(base);
      expect(patch.id).toBe(String(patch.data.version));
      expect(patch.data.version).toBeGreaterThan(base);
      const want = expected(m);
      expect({ node: m.node.name, upserted: keys(patch.data.peersUpserted), removed: [...patch.data.peersRemoved].sort() })
        .toEqual({ node: m.node.name, upserted: [...want.upserted].sort(), removed: [...want.removed].sort() });
    }));
    await sleep(QUIET_MS);
    for (const m of affected) expect(fresh(m).map((f) => f.event)).toEqual(['patch']);
    for (const m of unaffected) expect({ node: m.node.name, frames: fresh(m) }).toEqual({ node: m.node.name, frames: [] });
  }

  /** A write, retried while it answers 409 (a lost race another replica won); every answer is kept. */
  async function withRetry(send: () => Promise<Reply>, answers: number[]): Promise<Reply> {
    for (let attempt = 1; ; attempt++) {
      const reply = await send();
      answers.push(reply.status);
      if (reply.status !== 409 || attempt >= 5) return reply;
      await sleep(10 * attempt);
    }
  }

  beforeAll(async () => {
    const admin = requirePostgres();
    databaseName = uniqueDatabaseName('replicas');
    databaseUrl = await createTestDatabase(admin, databaseName);
    pg = new Client({ connectionString: databaseUrl });
    await pg.connect();
    replicas = new Replicas(databaseUrl, REPLICA_ENV);
    // The first replica started takes the jobs' lock; the others start once it holds it.
    a = await replicas.start('replica-a');
    [b, c] = await Promise.all([replicas.start('replica-b'), replicas.start('replica-c')]);
  });

  afterAll(async () => {
    await Promise.all([...members.map((m) => m.stream), ...extraStreams].map((s) => s.close()));
    // kill -9 whatever still runs (a failed spec), then the database.
    await replicas?.killAll();
    await pg?.end().catch(() => undefined);
    if (databaseName) await dropTestDatabase(requirePostgres(), databaseName);
    if (latencies.length) {
      const sorted = [...latencies].sort((x, y) => x - y);
      process.stdout.write(`replicas.e2e: ${sorted.length} patches across replicas, median ${sorted[sorted.length >> 1].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms\n`);
    }
  });

  it('three replicas are ready on one database, and the first one started leads', async () => {
    for (const r of [a, b, c]) expect((await request(r.baseUrl, 'GET', '/health/ready')).body).toMatchObject({ status: 'ok', database: 'ok' });
    expect(await leaders()).toEqual(['replica-a']);
  });

  it('nodes registered through each replica, streaming three per replica, get their full configs from any replica', async () => {
    owner = await setupTenant(a.baseUrl, 'replicas');
    expect((await putPolicy(b.baseUrl, owner.token, policy(WEB_DB))).status).toBe(200);
    const hosts = [a, b, c];
    const groups: Group[] = ['web', 'db', 'ops'];
    // Node i of each group registers through replica i and streams from it: every replica has one of each group.
    const registered = await Promise.all(hosts.flatMap((host, i) => groups.map(async (group) => ({
      group, host, node: await createNode(host.baseUrl, owner.token, { name: `${group}-${i + 1}`, tags: [group] }),
    }))));
    // Every replica sees every registration (fed from the log by NOTIFY, whichever replica took the write).
    for (const host of hosts) {
      await eventually(async () => (await request(host.baseUrl, 'GET', '/api/v1/nodes', { token: owner.token })).body.length === 9, BUDGET_MS, `9 nodes on ${host.name}`);
    }
    for (const { group, host, node } of registered) {
      const stream = await SseClient.connect(sseUrl(host.baseUrl, node.id), node.nodeToken);
      expect(stream.status).toBe(200);
      members.push({ node, group, stream, replica: host, seen: 0 });
    }
    for (const m of members) {
      const full = await m.stream.waitFor((f) => f.event === 'config');
      m.seen = m.stream.frames.length;
      const want = { web: keysOf('db'), db: keysOf('web'), ops: [] }[m.group];
      expect({ node: m.node.name, peers: keys(full.data.peers) }).toEqual({ node: m.node.name, peers: want });
      expect(full.id).toBe(String(full.data.version));
    }
    // A node's versions are numbered alike on every replica (each feeds the same log into the same view).
    for (const m of members) {
      const versions = await Promise.all(hosts.map(async (host) => (await request<NodeConfig>(host.baseUrl, 'GET', `/api/v1/nodes/${m.node.id}/config`, { token: owner.token })).body.version));
      expect(versions).toEqual([lastId(m.stream), lastId(m.stream), lastId(m.stream)]);
    }
  });

  it('a policy change through replica A reaches every affected stream on every replica as patches within the budget', async () => {
    const started = performance.now();
    expect((await putPolicy(a.baseUrl, owner.token, policy(WEB_DB, OPS_DB))).status).toBe(200);
    // db nodes gain the ops nodes, ops nodes gain the db nodes; the web nodes' configs did not change.
    await expectPatches(started, [...byGroup('db'), ...byGroup('ops')], (m) => ({ upserted: m.group === 'db' ? keysOf('ops') : keysOf('db'), removed: [] }));
  });

  let joined: RegisteredNode;
  it('a registration through replica B reaches every affected stream on every replica within the budget', async () => {
    const started = performance.now();
    joined = await createNode(b.baseUrl, owner.token, { name: 'web-4', tags: ['web'] });
    await expectPatches(started, byGroup('db'), () => ({ upserted: [joined.publicKey], removed: [] }));
  });

  it('a removal through replica C reaches every affected stream on every replica within the budget', async () => {
    const started = performance.now();
    expect((await request(c.baseUrl, 'DELETE', `/api/v1/nodes/${joined.id}`, { token: owner.token })).status).toBe(204);
    await expectPatches(started, byGroup('db'), () => ({ upserted: [], removed: [joined.publicKey] }));
  });

  it('no sticky sessions: what one replica acknowledged is read, changed and removed through another at once', async () => {
    // A tenant of its own: nothing here touches the streaming nodes' configs.
    const other = await setupTenant(c.baseUrl, 'no-sticky');
    const hosts = [a, b, c];
    const version = (n: number) => policy({ action: 'accept', src: ['tag:web'], dst: [`tag:db:${1000 + n}`] });
    for (let i = 0; i < 12; i++) {
      const [x, y, z] = [hosts[i % 3], hosts[(i + 1) % 3], hosts[(i + 2) % 3]];
      const node = await createNode(x.baseUrl, other.token, { name: `sticky-${i}` });
      expect((await request(y.baseUrl, 'GET', `/api/v1/nodes/${node.id}`, { token: other.token })).status).toBe(200);
      expect((await request(z.baseUrl, 'POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body: {} })).status).toBe(202);
      // Removed through another replica than the one that just took its heartbeat: no 404, no 409.
      expect((await request(x.baseUrl, 'DELETE', `/api/v1/nodes/${node.id}`, { token: other.token })).status).toBe(204);
      expect((await request(y.baseUrl, 'GET', `/api/v1/nodes/${node.id}`, { token: other.token })).status).toBe(404);
      const put = await putPolicy(x.baseUrl, other.token, version(i));
      expect(put.status).toBe(200);
      expect((await request(y.baseUrl, 'GET', '/api/v1/policies', { token: other.token })).body.version).toBe(put.body.version);
      // The version one replica just answered is the one another checks If-Match against.
      expect((await putPolicy(z.baseUrl, other.token, version(i + 100), put.body.version)).status).toBe(200);
    }
  });

  it('writes through all three replicas at once (heartbeats and registrations) succeed, or get a 409 that a retry resolves', async () => {
    const answers: number[] = [];
    const hosts = [a, b, c];
    const positionBefore = await head();
    const heartbeats = members.flatMap((m, i) => [0, 1, 2, 3].map((j) => ({ m, host: hosts[(i + j) % 3], j })));
    const [beats, joins] = await Promise.all([
      Promise.all(heartbeats.map(({ m, host, j }) => withRetry(() => request(host.baseUrl, 'POST', `/api/v1/nodes/${m.node.id}/heartbeat`, {
        token: m.node.nodeToken, body: { rxBytes: 1_000 * j, txBytes: 2_000 * j },
      }), answers).then((reply) => ({ m, reply })))),
      Promise.all(hosts.flatMap((host, i) => [0, 1, 2, 3].map((j) => withRetry(() => request<RegisteredNode>(host.baseUrl, 'POST', '/api/v1/nodes', {
        token: owner.token, body: { name: `load-${i}-${j}`, publicKey: wgKey(), tags: ['load'] },
      }), answers)))),
    ]);
    expect(answers.filter((s) => s >= 500)).toEqual([]);
    expect(answers.every((s) => s === 409 || s === 201 || s === 202)).toBe(true);
    expect(beats.map((x) => x.reply.status)).toEqual(heartbeats.map(() => 202));
    expect(joins.map((x) => x.status)).toEqual(joins.map(() => 201));
    // Distinct addresses though three replicas allocated them at once; every replica sees every node.
    const nodes = joins.map((x) => x.body as RegisteredNode);
    expect(new Set(nodes.map((n) => n.address)).size).toBe(nodes.length);
    for (const host of hosts) {
      await eventually(async () => {
        const listed = (await request(host.baseUrl, 'GET', '/api/v1/nodes', { token: owner.token })).body as { id: string; address: string }[];
        return nodes.every((n) => listed.some((l) => l.id === n.id && l.address === n.address));
      }, BUDGET_MS, `the new nodes on ${host.name}`);
    }
    // Each acknowledged heartbeat is one event in its node's stream, none twice.
    for (const m of members) {
      const logged = (await streamEvents(m.node.id)).filter((e) => Number(e.position) > positionBefore && HEARTBEAT_EVENTS.includes(e.type));
      expect({ node: m.node.name, heartbeats: logged.length }).toEqual({ node: m.node.name, heartbeats: 4 });
    }
    // No rule changed (the 'load' tag is in no rule). The members' first heartbeats told their peers the address
    // they came from (a candidate endpoint): at most that, once per peer, reached any stream.
    await sleep(QUIET_MS);
    for (const m of members) {
      const frames = fresh(m);
      const entries = frames.flatMap((f) => (f.event === 'patch' ? f.data.peersUpserted : [f]));
      expect({ node: m.node.name, frames: frames.filter((f) => f.event !== 'patch' || f.data.peersRemoved.length || f.data.firewall) })
        .toEqual({ node: m.node.name, frames: [] });
      expect(entries.every((p: { candidates?: string[] }) => p.candidates?.length === 1 && p.candidates[0] === '127.0.0.1:51820')).toBe(true);
      expect(new Set(entries.map((p: { publicKey: string }) => p.publicKey)).size).toBe(entries.length);
    }
    process.stdout.write(`replicas.e2e: parallel writes through 3 replicas: ${answers.length} answers, ${answers.filter((s) => s === 409).length} × 409 retried\n`);
  });

  it('kill -9 of replica C under load loses no acknowledged write, and the survivors keep serving', async () => {
    const positionBefore = await head();
    const hosts = [a, b, c];
    type Sent = { host: Replica; kind: 'beat' | 'join'; nodeId?: string; status: number | 'failed'; text?: string };
    const sent: Sent[] = [];
    let stop = false;
    let seq = 0;
    const worker = async (w: number) => {
      for (let k = 0; !stop; k++) {
        const host = hosts[(w + k) % 3];
        const kind = k % 3 === 2 ? 'join' : 'beat';
        const m = members[(w * 7 + k) % members.length];
        try {
          const reply = kind === 'beat'
            ? await request(host.baseUrl, 'POST', `/api/v1/nodes/${m.node.id}/heartbeat`, { token: m.node.nodeToken, body: {} })
            : await request<RegisteredNode>(host.baseUrl, 'POST', '/api/v1/nodes', { token: owner.token, body: { name: `kill-${++seq}`, publicKey: wgKey(), tags: ['load'] } });
          sent.push({
            host, kind, nodeId: kind === 'beat' ? m.node.id : (reply.body as RegisteredNode).id, status: reply.status,
            ...(reply.status >= 300 ? { text: reply.text } : {}),
          });
        } catch {
          sent.push({ host, kind, nodeId: kind === 'beat' ? m.node.id : undefined, status: 'failed' }); // connection cut or refused
        }
      }
    };
    const ok = (s: Sent) => s.status === 201 || s.status === 202;
    const load = Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8].map(worker));
    let killedAfter = 0;
    try {
      // C dies under load, having acknowledged writes of both kinds; the survivors go on taking writes after it.
      await eventually(() => ['beat', 'join'].every((kind) => sent.filter((s) => s.host === c && s.kind === kind && ok(s)).length >= 3), 20_000, 'C acknowledging writes');
      await c.kill();
      killedAfter = sent.length;
      await eventually(() => sent.slice(killedAfter).filter((s) => s.host !== c && ok(s)).length >= 30, 20_000, 'the survivors serving after the kill');
    } finally {
      stop = true;
      await load;
    }

    const ofC = sent.filter((s) => s.host === c);
    const survivors = sent.filter((s) => s.host !== c);
    expect(ofC.some((s) => s.status === 'failed')).toBe(true); // C died under the load
    // The survivors answered everything (a heartbeat racing another replica's is retried in the handler).
    const shown = (list: Sent[]) => list.map(({ host, kind, status, text }) => ({ host: host.name, kind, status, text }));
    expect(shown(survivors.filter((s) => s.status !== 201 && s.status !== 202))).toEqual([]);
    expect(shown(ofC.filter((s) => s.status !== 201 && s.status !== 202 && s.status !== 'failed'))).toEqual([]);

    // Every acknowledged registration is in the log and served by both survivors.
    const acknowledged = sent.filter((s) => s.kind === 'join' && (s.status === 201));
    for (const s of acknowledged) {
      expect((await streamEvents(s.nodeId!)).map((e) => e.type)).toEqual(['NodeRegistered']);
    }
    for (const host of [a, b]) {
      await eventually(async () => {
        const listed = (await request(host.baseUrl, 'GET', '/api/v1/nodes', { token: owner.token })).body as { id: string }[];
        return acknowledged.every((s) => listed.some((l) => l.id === s.nodeId));
      }, BUDGET_MS, `every acknowledged registration on ${host.name}`);
    }
    // Every acknowledged heartbeat is in the log: per node, at least as many as were acknowledged, and no more than
    // were sent (one whose answer the kill cut off may have committed).
    for (const m of members) {
      const logged = (await streamEvents(m.node.id)).filter((e) => Number(e.position) > positionBefore && HEARTBEAT_EVENTS.includes(e.type)).length;
      const mine = sent.filter((s) => s.kind === 'beat' && s.nodeId === m.node.id);
      const acked = mine.filter((s) => s.status === 202).length;
      expect({ node: m.node.name, ok: logged >= acked && logged <= mine.length }).toEqual({ node: m.node.name, ok: true });
    }
    // C's streams ended with it; the others are still open.
    for (const m of members.filter((x) => x.replica === c)) await m.stream.waitForEnd(BUDGET_MS);
    expect(members.filter((x) => x.replica !== c).every((x) => !x.stream.ended)).toBe(true);
    process.stdout.write(`replicas.e2e: kill -9 under load: ${sent.length} writes, ${acknowledged.length} registrations acknowledged, ${ofC.filter((s) => s.status === 'failed').length} cut off at C\n`);
  });

  it('the killed replica\u2019s agents resume on the survivors with Last-Event-ID and get only what they missed', async () => {
    const orphans = members.filter((m) => m.replica === c);
    const lastSeen = new Map(orphans.map((m) => [m, lastId(m.stream)]));
    for (const m of orphans) expect(fresh(m)).toEqual([]);

    // While they are disconnected: a policy change through B (ops no longer reach db). db and ops configs change,
    // web configs do not; the streams still open get it as patches.
    const started = performance.now();
    expect((await putPolicy(b.baseUrl, owner.token, policy(WEB_DB))).status).toBe(200);
    await expectPatches(started, [...byGroup('db'), ...byGroup('ops')].filter((m) => m.replica !== c),
      (m) => ({ upserted: [], removed: m.group === 'db' ? keysOf('ops') : keysOf('db') }));

    const [web, db, ops] = (['web', 'db', 'ops'] as const).map((g) => orphans.find((m) => m.group === g)!);
    const current = async (host: Replica, m: Member) => (await request<NodeConfig>(host.baseUrl, 'GET', `/api/v1/nodes/${m.node.id}/config`, { token: owner.token })).body;
    const resume = async (m: Member, host: Replica) => {
      const stream = await SseClient.connect(sseUrl(host.baseUrl, m.node.id), m.node.nodeToken, lastSeen.get(m));
      expect(stream.status).toBe(200);
      m.stream = stream;
      m.replica = host;
      m.seen = 0;
      return stream;
    };

    // web missed nothing: told it is up to date, sent nothing (no full config).
    const webStream = await resume(web, a);
    await webStream.waitForComment((text) => text.includes('up to date'));
    // db missed a version: one full config at the current version, from the replica that took the write.
    const dbStream = await resume(db, b);
    const full = await dbStream.waitFor((f) => f.event === 'config');
    const dbNow = await current(b, db);
    expect(full.id).toBe(String(dbNow.version));
    expect(full.data.version).toBeGreaterThan(lastSeen.get(db)!);
    expect(keys(full.data.peers)).toEqual(keysOf('web'));
    // ops resumes on A: the missed change as one full config (or, had A not applied it yet, as the patch from the
    // version the agent holds) — either way ending at the current version, nothing it already had sent again.
    const opsStream = await resume(ops, a);
    const opsNow = await current(b, ops);
    await opsStream.waitFor((f) => Number(f.id) === opsNow.version, BUDGET_MS);
    await sleep(QUIET_MS);
    expect(webStream.frames).toEqual([]);
    expect(dbStream.frames.map((f) => f.event)).toEqual(['config']);
    const opsFrames = opsStream.frames;
    expect(opsFrames.length).toBe(1);
    if (opsFrames[0].event === 'patch') expect(opsFrames[0].data.baseVersion).toBe(lastSeen.get(ops));
    else expect(opsFrames[0].data.peers).toEqual([]);
    for (const m of orphans) m.seen = m.stream.frames.length;

    // A change made after they resumed reaches them on their new replicas as patches, within the budget.
    const again = performance.now();
    const late = await createNode(a.baseUrl, owner.token, { name: 'web-5', tags: ['web'] });
    await expectPatches(again, byGroup('db'), () => ({ upserted: [late.publicKey], removed: [] }));
  });

  it('kill -9 of the sweeper\u2019s leader: a survivor takes the lock and marks a silent node offline within 10 s, once', async () => {
    // A third replica again, so that two survive the leader.
    d = await replicas.start('replica-d');
    expect(await leaders()).toEqual(['replica-a']);
    const silent = await Promise.all([1, 2, 3].map((i) => createNode(b.baseUrl, owner.token, { name: `silent-${i}`, tags: ['load'] })));
    const beating = await Promise.all([1, 2].map((i) => createNode(d.baseUrl, owner.token, { name: `beating-${i}`, tags: ['load'] })));
    for (const n of [...silent, ...beating]) {
      expect((await request(b.baseUrl, 'POST', `/api/v1/nodes/${n.id}/heartbeat`, { token: n.nodeToken, body: {} })).status).toBe(202);
    }
    // Kill the leader right after the silent nodes' last heartbeat: they go stale 2 s later, when it is long dead.
    const killedAt = Date.now();
    await a.kill();
    let beat = true;
    const beats: number[] = [];
    const keepBeating = (async () => {
      for (let k = 0; beat; k++) {
        const host = k % 2 ? b : d;
        for (const n of beating) beats.push((await request(host.baseUrl, 'POST', `/api/v1/nodes/${n.id}/heartbeat`, { token: n.nodeToken, body: {} })).status);
        await sleep(250);
      }
    })();
    try {
      const status = (host: Replica, id: string) => request(host.baseUrl, 'GET', `/api/v1/nodes/${id}`, { token: owner.token }).then((r) => r.body.status);
      await eventually(async () => (await Promise.all(silent.map((n) => status(b, n.id)))).every((s) => s === 'offline'), 10_000, 'the silent nodes offline');
      const tookMs = Date.now() - killedAt;
      expect(tookMs).toBeLessThan(10_000);
      const leader = await leaders();
      expect(leader.length).toBe(1);
      expect(['replica-b', 'replica-d']).toContain(leader[0]);
      // Several sweeps of the new leader later: still one NodeWentOffline per silent node, recorded after A died.
      await sleep(1_500);
      for (const n of silent) {
        const offline = (await streamEvents(n.id)).filter((e) => e.type === 'NodeWentOffline');
        expect(offline.length).toBe(1);
        expect(Number(offline[0].recorded_at)).toBeGreaterThan(killedAt);
        expect(await status(d, n.id)).toBe('offline');
      }
      // The nodes that kept beating through the survivors stayed online, and were never marked offline.
      for (const n of beating) {
        expect((await streamEvents(n.id)).filter((e) => e.type === 'NodeWentOffline')).toEqual([]);
        expect([await status(b, n.id), await status(d, n.id)]).toEqual(['online', 'online']);
      }
      expect(beats.every((s) => s === 202)).toBe(true);
      process.stdout.write(`replicas.e2e: leader killed; ${leader[0]} marked the silent nodes offline ${tookMs} ms later\n`);
    } finally {
      beat = false;
      await keepBeating;
    }
  });

  it('the log holds no duplicate offline event anywhere, and its hash chain verifies once the replicas are stopped', async () => {
    // Across every node's stream and every leader: never two NodeWentOffline without a heartbeat between them.
    const rows = await sql<{ stream_id: string; type: string }>(
      `SELECT s.stream_id, e.type FROM events e JOIN streams s ON s.ref = e.stream_ref WHERE s.stream_id LIKE 'node-%' ORDER BY e.position`);
    const offline = new Map<string, boolean>();
    const duplicates: string[] = [];
    for (const row of rows) {
      if (row.type === 'NodeWentOffline') {
        if (offline.get(row.stream_id)) duplicates.push(row.stream_id);
        offline.set(row.stream_id, true);
      } else if (HEARTBEAT_EVENTS.includes(row.type)) offline.set(row.stream_id, false);
    }
    expect(duplicates).toEqual([]);
    expect(rows.filter((r) => r.type === 'NodeWentOffline').length).toBeGreaterThanOrEqual(3);

    await Promise.all([...members.map((m) => m.stream), ...extraStreams].map((s) => s.close()));
    await replicas.stopAll();
    expect(replicas.running()).toEqual([]);
    const lines: string[] = [];
    const ok = await replay({ databasePath: '/nonexistent/meshgate.sqlite', databaseUrl }, { full: true }, (line) => lines.push(line));
    expect(lines.join('\n')).toContain('hash chain intact from position 0');
    expect(lines.join('\n')).toContain('read models identical');
    expect(ok).toBe(true);
    const total = Number((await sql<{ n: string }>('SELECT COUNT(*) AS n FROM events'))[0].n);
    expect(total).toBe(await head());
  });
});
