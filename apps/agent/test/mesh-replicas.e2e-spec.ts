/**
 * The mesh e2e with its agents on two control-plane replicas: replicas A and B (`node dist/apps/control-plane/main.js`,
 * each on its own port in the hub namespace) share one PostgreSQL database; r1 and r2 list A's URL first, r3 and r4
 * B's. Each agent drives a real wireguard-go in its own namespace. Tests run in order and build on each other: the
 * mesh forms across the replicas, policy changes through either replica reach the agents of the other, and after a
 * kill -9 of A its agents resume on B with Last-Event-ID, keep their tunnels, and follow later changes made on B.
 */
import { createTestDatabase, dropTestDatabase, requirePostgres, uniqueDatabaseName } from '../../control-plane/test/support/postgres';
import { MeshLab, sleep, waitFor } from './harness/mesh-lab';
import { viaUnixSocket } from './harness/postgres-socket';

jest.setTimeout(60_000);

const ON_A = ['r1', 'r2'];
const ON_B = ['r3', 'r4'];
/** Joins after replica A is dead, with A's URL first. */
const LATE = 'r5';
const ALLOW_ALL = [{ action: 'accept' as const, src: ['*'], dst: ['*'] }];
/** r1 (on A) and r3 (on B) lose each other. */
const DENY_R1_R3 = [
  ...ALLOW_ALL,
  { action: 'deny' as const, src: ['r1'], dst: ['r3'] },
  { action: 'deny' as const, src: ['r3'], dst: ['r1'] },
];

type LogLine = { msg: string; [field: string]: unknown };

describe('MeshGate mesh in network namespaces, agents on two control-plane replicas (PostgreSQL)', () => {
  const lab = new MeshLab();
  const replicaA = lab.addControlPlane('replica-a', 8080);
  const replicaB = lab.addControlPlane('replica-b', 8081);
  const members = [...ON_A, ...ON_B];
  const keys: Record<string, string> = {};
  const figures: string[] = [];
  let adminUrl: string | null = null;
  const database = uniqueDatabaseName('mesh');
  let enrollmentKey = '';

  const logs = (name: string): LogLine[] =>
    lab.node(name).agent!.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  const logged = (name: string, msg: string) => logs(name).filter((l) => l.msg === msg);
  /** Whether `name`'s live interface lists exactly the given other nodes as peers. */
  const hasPeers = async (name: string, others: string[]) => {
    const live = (await lab.peers(name)).sort();
    return JSON.stringify(live) === JSON.stringify(others.map((o) => keys[o]).sort());
  };
  const fullMesh = async () => {
    for (const name of members) if (!(await hasPeers(name, members.filter((n) => n !== name)))) return false;
    return true;
  };
  const r1r3Denied = async () => {
    for (const name of members) {
      const denied = name === 'r1' ? ['r3'] : name === 'r3' ? ['r1'] : [];
      if (!(await hasPeers(name, members.filter((n) => n !== name && !denied.includes(n))))) return false;
    }
    return true;
  };
  /** Every node reaches every other. A peer just re-added may need one handshake retry (WireGuard waits 5 s). */
  const allPairsPing = async () => {
    for (const from of members) {
      for (const to of members) {
        if (from !== to) await waitFor(() => lab.canPing(from, to), 12_000, () => `${from} cannot ping ${to}\n${lab.tails()}`, 100);
      }
    }
  };
  const learnNodes = async () => {
    for (const view of await replicaB.api.expect<any[]>(200, 'GET', '/api/v1/nodes')) {
      const node = lab.node(view.name);
      node.id = view.id;
      node.overlay = String(view.address).split('/')[0];
      keys[view.name] = view.publicKey;
    }
  };
  const configVersion = async (name: string) =>
    (await replicaB.api.expect<any>(200, 'GET', `/api/v1/nodes/${lab.node(name).id}/config`)).version as number;

  beforeAll(async () => {
    MeshLab.preflight();
    adminUrl = requirePostgres();
    const env = lab.controlPlaneEnv({
      DATABASE_URL: await viaUnixSocket(await createTestDatabase(adminUrl, database)),
      METRICS_PORT: '0',
      LOG_LEVEL: 'error',
    });
    await lab.createNetwork([...members, LATE]);
    // One after the other: the first migrates the empty database.
    await replicaA.start(env);
    await replicaB.start(env);
    lab.api = replicaA.api;
    enrollmentKey = await lab.bootstrapTenant();
    replicaB.api.token = replicaA.api.token; // one JWT secret: a token from A is good on B
    await lab.putPolicy(ALLOW_ALL);
    for (const name of ON_A) lab.writeAgentConfig(name, enrollmentKey, undefined, [replicaA.url, replicaB.url]);
    for (const name of ON_B) lab.writeAgentConfig(name, enrollmentKey, undefined, [replicaB.url, replicaA.url]);
    for (const name of members) lab.startAgent(name);
  });

  afterAll(async () => {
    if (figures.length > 0) process.stdout.write(`\nMeshGate agent figures (two replicas)\n  ${figures.join('\n  ')}\n`);
    await lab.teardown();
    if (adminUrl) await dropTestDatabase(adminUrl, database);
  });

  it('registers four nodes, two through each replica, that form a full mesh every node can ping', async () => {
    await waitFor(async () => (await replicaB.api.expect<any[]>(200, 'GET', '/api/v1/nodes')).length === 4, 20_000, () => lab.tails(), 200);
    await learnNodes();
    // Both replicas list the same nodes, whichever one each registered through.
    const byName = (list: any[]) => list.map((n) => `${n.name} ${n.id} ${n.address}`).sort();
    expect(byName(await replicaA.api.expect<any[]>(200, 'GET', '/api/v1/nodes'))).toEqual(byName(await replicaB.api.expect<any[]>(200, 'GET', '/api/v1/nodes')));
    await waitFor(fullMesh, 15_000, () => `no full mesh\n${lab.tails()}`);
    for (const name of members) {
      expect(await lab.publicKey(name)).toBe(keys[name]);
      const first = ON_A.includes(name) ? replicaA.url : replicaB.url;
      expect(logged(name, 'config stream connected').map((l) => l.url)).toEqual([first]);
      expect(logged(name, 'control plane unreachable, failing over to the next URL')).toEqual([]);
    }
    await allPairsPing();
  });

  it('applies a deny r1<->r3 put through A within 5 s on the agents of both replicas; allow-all through B undoes it', async () => {
    const pinging = lab.ping('r2', 'r4', ['-c', '40', '-i', '0.05', '-W', '1']);
    await sleep(300);
    let started = Date.now();
    await lab.putPolicy(DENY_R1_R3, replicaA.api);
    await waitFor(r1r3Denied, 5_000, () => `deny (through A) not applied\n${lab.tails()}`);
    const denyMs = Date.now() - started;
    expect(await lab.canPing('r1', 'r3')).toBe(false);
    expect(await lab.canPing('r1', 'r4')).toBe(true);
    expect(await pinging).toMatch(/40 packets transmitted, 40 received, 0% packet loss/);

    started = Date.now();
    await lab.putPolicy(ALLOW_ALL, replicaB.api);
    await waitFor(fullMesh, 5_000, () => `allow-all (through B) not applied\n${lab.tails()}`);
    const allowMs = Date.now() - started;
    figures.push(`deny through A live on all four agents ${denyMs} ms after PUT; allow-all through B ${allowMs} ms; concurrent r2->r4 ping 40/40`);
    await allPairsPing();
  });

  it('kill -9 of replica A: its agents resume on B with Last-Event-ID, keep their tunnels, and follow changes through B', async () => {
    const held = Object.fromEntries(await Promise.all(ON_A.map(async (n) => [n, await configVersion(n)] as const)));
    const fullConfigs = Object.fromEntries(members.map((n) => [n, logged(n, 'received config').length]));
    await replicaA.kill();
    const killed = Date.now();

    // The tunnels do not depend on the control plane: A's agents keep their config and their peers.
    expect(await fullMesh()).toBe(true);
    expect(await lab.canPing('r1', 'r3')).toBe(true);
    expect(await lab.canPing('r2', 'r4')).toBe(true);

    for (const name of ON_A) {
      await waitFor(() => logged(name, 'config stream connected').some((l) => l.url === replicaB.url), 15_000,
        () => `${name} did not resume on B\n${lab.tails()}`, 50);
      expect(logged(name, 'config stream connected').map((l) => [l.url, l.lastEventId])).toEqual([[replicaA.url, null], [replicaB.url, held[name]]]);
      expect(logged(name, 'control plane unreachable, failing over to the next URL').map((l) => [l.url, l.next])).toContainEqual([replicaA.url, replicaB.url]);
    }
    const failoverMs = Date.now() - killed;
    // B's agents never noticed; nobody got a full config again: a resumed stream sends only what was missed (nothing).
    for (const name of ON_B) expect(logged(name, 'config stream connected').map((l) => l.url)).toEqual([replicaB.url]);
    for (const name of members) expect(logged(name, 'received config')).toHaveLength(fullConfigs[name]);
    expect(await fullMesh()).toBe(true);

    // A policy edit through B reaches A's former agents.
    let started = Date.now();
    await lab.putPolicy(DENY_R1_R3, replicaB.api);
    await waitFor(r1r3Denied, 5_000, () => `deny (through B, A dead) not applied\n${lab.tails()}`);
    const denyMs = Date.now() - started;
    expect(await lab.canPing('r1', 'r3')).toBe(false);
    expect(await lab.canPing('r1', 'r2')).toBe(true);

    // A new node, configured with A's URL first, registers through B and every agent gets it as a peer.
    started = Date.now();
    lab.writeAgentConfig(LATE, enrollmentKey, undefined, [replicaA.url, replicaB.url]);
    lab.startAgent(LATE);
    members.push(LATE);
    await waitFor(async () => (await replicaB.api.expect<any[]>(200, 'GET', '/api/v1/nodes')).length === 5, 15_000, () => lab.tails(), 100);
    await learnNodes();
    await waitFor(r1r3Denied, 10_000, () => `${LATE} not a peer of every node\n${lab.tails()}`);
    const joinMs = Date.now() - started;
    expect(logged(LATE, 'registered with the control plane')).toHaveLength(1);
    expect(logged(LATE, 'config stream connected').map((l) => l.url)).toEqual([replicaB.url]);
    for (const name of ON_A) expect(logged(name, 'received config')).toHaveLength(fullConfigs[name]);

    started = Date.now();
    await lab.putPolicy(ALLOW_ALL, replicaB.api);
    await waitFor(fullMesh, 5_000, () => `allow-all (through B, A dead) not applied\n${lab.tails()}`);
    const allowMs = Date.now() - started;
    figures.push(`after kill -9 of A: its agents resumed on B within ${failoverMs} ms; deny through B live in ${denyMs} ms, ` +
      `${LATE} joined (A's URL first) and was every node's peer in ${joinMs} ms, allow-all in ${allowMs} ms`);
    await allPairsPing();

    // The heartbeats of A's former agents reach B: they were seen after the kill and are online.
    const views = await replicaB.api.expect<any[]>(200, 'GET', '/api/v1/nodes');
    for (const name of ON_A) {
      const view = views.find((v) => v.name === name);
      expect(view.status).toBe('online');
      expect(Date.parse(view.lastSeenAt)).toBeGreaterThan(killed);
    }
  });
});
