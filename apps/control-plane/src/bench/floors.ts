/**
 * Bench part (k): the performance issue's table, every row as MeshGate, its floor and the ratio, at each size of
 * SSE clients. MeshGate is one control plane on SQLite; the floor is a bare node:http server (bare-http-server.ts);
 * each runs alone as a child process, and the clients (load loops, SSE readers) are the bench's own process.
 *
 * The tenant is hub-and-spoke (`* → hubs:443`, names as in fan-out.ts), plus `hubs → *:22` so that every node's
 * firewall names the hubs. Per size N:
 * - registrations/s: N nodes registered through the API (BENCH_REGISTER_CONCURRENCY in flight); the goal is judged
 *   on the last tenth (at most 1,000) of them, registered into a tenant of nearly N.
 * - heartbeats/s: 64 closed loops of spokes reporting hub-0 as their peer, against the same loops on the floor (and,
 *   for reference, on the bare Fastify endpoint of part (a)).
 * - firewall change: `hubs → *:22` becomes `*:22,2222` and back; every node's firewall changes, no peer does.
 * - new peers: the tenant becomes a full mesh (every node gains ~N peers), measured, then back to hub-and-spoke
 *   (not measured); only up to BENCH_FLOOR_MESH_MAX clients, as at 10,000 one change is ~15 GB of patches.
 * For both changes the time runs from just before the PUT until each client has the frame; p99 is over clients and
 * changes, after one unmeasured change on each side (changeSeries: the first run of the fan-out code is the JIT's).
 * The floor's clients are one per product client, and each is sent, per change, a frame of the bytes that client
 * got from the product for that kind of change (its mean over the changes).
 * RSS per stream: the server's resident set with the N streams open minus before, over N.
 */
import { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RegisteredNode } from '@meshgate/contracts';
import { connectInWaves, hubName, spokeName } from './fan-out';
import { closedLoop, LoadResult } from './http-load';
import { ChangeSeries, changeSeries, deliveriesOf, mean } from './change-series';
import { api, fmt, freePort, pct, Processes, registerNodes, RegistrationResult, setupTenant, sleep, startControlPlane, waitFor } from './servers';
import { SseClient } from './sse-client';

export interface FloorOptions {
  clients: number;
  hubs: number;
  firewallChanges: number;
  peerChanges: number;
  /** The new-peers row runs only up to this many clients. */
  meshMax: number;
  heartbeatSeconds: number;
  registerConcurrency: number;
  connectWave: number;
  timeoutMs: number;
}

const LOOPS = 64;

const rssBytes = (child: ChildProcess) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) * 1024;

/**
 * Node raises its soft limit on open files to the hard one at start-up, in the bench and in every child: the hard
 * limit must leave each process room for its N streams (and the client its load loops, one server at a time).
 */
function checkFileLimit(streams: number): void {
  const hard = Number(/^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
  if (hard < streams + 1000) throw new Error(`(k) at ${streams} SSE clients needs a hard limit of at least ${streams + 1000} open files per process; it is ${hard}`);
}

/**
 * Hub-and-spoke (or a full mesh): every node may reach the hubs on 443, and the hubs every node on `ports`, so that
 * changing `ports` changes every node's firewall (a hub's too: the other hubs come in on them).
 */
function floorPolicy(hubs: number, state: { fullMesh: boolean; ports: string }) {
  const names = Array.from({ length: hubs }, (_, i) => hubName(i));
  return {
    acls: [
      { action: 'accept', src: ['*'], dst: names.map((h) => `${h}:443`), proto: 'tcp' },
      { action: 'accept', src: names, dst: state.ports.split(',').map((p) => `*:${p}`), proto: 'tcp' },
      ...(state.fullMesh ? [{ action: 'accept', src: ['*'], dst: ['*'] }] : []),
    ],
  };
}

interface Series extends Pick<ChangeSeries, 'coldP99Ms'> {
  /** Delivery times over every client and change, sorted. */
  ms: number[];
  missed: number;
  /** Bytes each client got per change, its mean over the changes. */
  bytesPerStream: number[];
  /** The server's CPU seconds per change, sorted. */
  cpu: number[];
}

/** `count` changes to one server's clients (change-series.ts), summed up for the table. */
async function series(
  clients: SseClient[], server: ChildProcess, count: number, timeoutMs: number,
  trigger: (k: number) => Promise<unknown>, after?: () => Promise<unknown>,
): Promise<Series> {
  const s = await changeSeries(clients, [server], count, timeoutMs, trigger, after);
  return {
    ...deliveriesOf(s),
    coldP99Ms: s.coldP99Ms,
    bytesPerStream: clients.map((_, i) => Math.round(mean(s.bytes.map((change) => change[i])))),
    cpu: s.serverCpu.map(([c]) => c).sort((a, b) => a - b),
  };
}

/** The N streams of one server: connected, its RSS per stream, and the bytes each got on connecting. */
async function openStreams(clients: SseClient[], server: ChildProcess, count: number, open: (i: number) => SseClient, options: FloorOptions) {
  const rss0 = rssBytes(server);
  await connectInWaves(clients, count, open, options);
  await sleep(1000);
  const rss1 = rssBytes(server);
  return { rss0, rss1, perStream: (rss1 - rss0) / count, connectBytes: clients.map((c) => c.bytes).sort((a, b) => a - b) };
}

const closeAll = (clients: SseClient[]) => clients.splice(0).forEach((c) => c.close());

interface SideFigures {
  heartbeats: LoadResult;
  rss: { rss0: number; rss1: number; perStream: number; connectBytes: number[] };
  firewall: Series;
  peers: Series | null;
}

export async function runFloors(procs: Processes, dir: string, options: FloorOptions): Promise<string[]> {
  const n = options.clients;
  if (n <= options.hubs) throw new Error(`BENCH_FLOOR_CLIENTS: ${n} is not more than the ${options.hubs} hubs`);
  checkFileLimit(n);
  const withPeers = n <= options.meshMax;
  const clients: SseClient[] = [];
  const children: ChildProcess[] = [];
  const kDir = join(dir, `k-${n}`);
  try {
    // ---- MeshGate ----
    const { port, child: cp } = await startControlPlane(procs, { DATABASE_PATH: join(kDir, 'meshgate.sqlite'), SSE_PING_MS: '3600000' });
    children.push(cp);
    const { admin } = await setupTenant(port);
    const state = { fullMesh: false, ports: '22' };
    let version = (await api<{ version: number }>(port, 'PUT', '/api/v1/policies', admin, floorPolicy(options.hubs, state))).version;
    const putPolicy = async () => {
      version = (await api<{ version: number }>(port, 'PUT', '/api/v1/policies', admin, floorPolicy(options.hubs, state), { 'if-match': String(version) })).version;
    };

    const tail = Math.max(1, Math.min(1000, Math.round(n / 10)));
    const bulk = await registerNodes([port], admin, n - tail, options.registerConcurrency, (i) => (i < options.hubs ? hubName(i) : spokeName(i)));
    const last = await registerNodes([port], admin, tail, options.registerConcurrency, (i) => spokeName(n - tail + i));
    const nodes: RegisteredNode[] = [...bulk.nodes, ...last.nodes];

    const spokes = nodes.slice(options.hubs);
    const body = JSON.stringify({ rxBytes: 123456, txBytes: 654321, peers: [{ publicKey: nodes[0].publicKey, lastHandshakeAt: new Date().toISOString(), rxBytes: 1, txBytes: 2 }] });
    const heartbeats = (serverPort: number, path: (id: string) => string) => ({
      port: serverPort, body,
      path: (i: number) => path(spokes[i % spokes.length].id),
      headers: (i: number) => ({ authorization: `Bearer ${spokes[i % spokes.length].nodeToken}` }),
    });
    const measureHeartbeats = async (target: ReturnType<typeof heartbeats>) => {
      await closedLoop(target, LOOPS, 2); // warm-up
      return closedLoop(target, LOOPS, options.heartbeatSeconds);
    };
    const product: SideFigures = {
      heartbeats: await measureHeartbeats(heartbeats(port, (id) => `/api/v1/nodes/${id}/heartbeat`)),
      rss: await openStreams(clients, cp, n, (i) => new SseClient(port, `/api/v1/nodes/${nodes[i].id}/config/stream`, nodes[i].nodeToken), options),
      firewall: await series(clients, cp, options.firewallChanges, options.timeoutMs, async (k) => {
        state.ports = k % 2 === 0 ? '22,2222' : '22';
        await putPolicy();
      }),
      peers: null,
    };
    if (withPeers) {
      const revert = async () => {
        for (const c of clients) c.forgetFrames();
        state.fullMesh = false;
        await putPolicy();
        await Promise.all(clients.map((c) => c.next((f) => f.event === 'patch', options.timeoutMs)));
        for (const c of clients) c.forgetFrames();
      };
      product.peers = await series(clients, cp, options.peerChanges, options.timeoutMs, async () => {
        state.fullMesh = true;
        await putPolicy();
      }, revert);
    }
    closeAll(clients);
    await procs.stop(cp);

    // ---- the floor ----
    const floorPort = await freePort();
    const floor = procs.start('bare-http-server.js', { PORT: String(floorPort) });
    children.push(floor);
    await waitFor(`http://127.0.0.1:${floorPort}/`, floor);
    const bareHeartbeats = heartbeats(floorPort, (id) => `/bare/${id}/heartbeat`);
    const floorHeartbeats = await measureHeartbeats(bareHeartbeats);
    const fastifyPort = await freePort();
    const fastify = procs.start('bare-server.js', { PORT: String(fastifyPort) });
    children.push(fastify);
    await waitFor(`http://127.0.0.1:${fastifyPort}/`, fastify, { anyStatus: true });
    const fastifyHeartbeats = await measureHeartbeats({ ...bareHeartbeats, port: fastifyPort });
    await procs.stop(fastify);

    const fanOut = (s: Series) => () => api(floorPort, 'POST', '/fanout', undefined, s.bytesPerStream);
    const floorFigures: SideFigures = {
      heartbeats: floorHeartbeats,
      rss: await openStreams(clients, floor, n, (i) => new SseClient(floorPort, `/stream?i=${i}`, 'floor'), options),
      firewall: await series(clients, floor, options.firewallChanges, options.timeoutMs, fanOut(product.firewall)),
      peers: product.peers && await series(clients, floor, options.peerChanges, options.timeoutMs, fanOut(product.peers)),
    };
    closeAll(clients);
    await procs.stop(floor);

    return report(options, product, floorFigures, fastifyHeartbeats, { bulk, last });
  } finally {
    closeAll(clients);
    await Promise.all(children.map((c) => procs.stop(c)));
    rmSync(kDir, { recursive: true, force: true });
  }
}

const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;
const mb = (bytes: number) => `${fmt(bytes / (1024 * 1024))} MB`;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

function latencyRow(what: string, product: Series, floor: Series, goal: (p99: number, ratio: number) => boolean, goalText: string): string {
  const [p, f] = [pct(product.ms, 0.99), pct(floor.ms, 0.99)];
  const missed = product.missed + floor.missed ? ` (NOT delivered within the timeout: MeshGate ${product.missed}, floor ${floor.missed})` : '';
  return `    ${what}: MeshGate p99 ${fmt(p)} ms (p50 ${fmt(pct(product.ms, 0.5))}) | floor ${fmt(f)} ms (p50 ${fmt(pct(floor.ms, 0.5))}) | ${fmt(p / f, 2)}× the floor | goal ${goalText}: ${met(goal(p, p / f) && !product.missed)}${missed}`
    + `      (first change, unmeasured: MeshGate p99 ${fmt(product.coldP99Ms)} ms, floor ${fmt(floor.coldP99Ms)} ms)`;
}

function bytesText(s: Series, floor: Series): string {
  const [p, f] = [sorted(s.bytesPerStream), sorted(floor.bytesPerStream)];
  return `median ${fmt(pct(p, 0.5))}, max ${fmt(pct(p, 1))} (the floor's: ${fmt(pct(f, 0.5))}, ${fmt(pct(f, 1))})`;
}

function report(
  options: FloorOptions, product: SideFigures, floor: SideFigures, fastify: LoadResult, registration: { bulk: RegistrationResult; last: RegistrationResult },
): string[] {
  const n = options.clients;
  const hb = product.heartbeats.perSecond / floor.heartbeats.perSecond;
  const { bulk, last } = registration;
  const total = bulk.nodes.length + last.nodes.length;
  const lastRate = last.nodes.length / last.seconds;
  const allRate = total / (bulk.seconds + last.seconds);
  const cpu = (s: Series) => `${fmt(pct(s.cpu, 0.5), 2)} s`;
  const lines = [
    `  at ${fmt(n)} SSE clients:`,
    `    heartbeats/s, ${LOOPS} concurrent clients: MeshGate ${fmt(product.heartbeats.perSecond)} (p99 ${product.heartbeats.p99Ms.toFixed(1)} ms, ${product.heartbeats.errors} errors of ${fmt(product.heartbeats.requests)}) | floor ${fmt(floor.heartbeats.perSecond)} | ${fmt(hb * 100, 1)}% of the floor | goal ≥ 50%: ${met(hb >= 0.5)}      (bare Nest+Fastify endpoint: ${fmt(fastify.perSecond)}/s${fastify.errors ? `, ${fastify.errors} errors` : ''})`,
    latencyRow(`firewall change of every node → ${fmt(n)} agents`, product.firewall, floor.firewall, (p99, r) => p99 < 1000 && r <= 1.3, '< 1 s and ≤ 1.3×'),
    product.peers && floor.peers
      ? latencyRow(`~${fmt(n)} new peers per node → ${fmt(n)} agents`, product.peers, floor.peers, (_, r) => r <= 2, '≤ 2×')
      : `    ~N new peers per node → N agents: not run above BENCH_FLOOR_MESH_MAX = ${fmt(options.meshMax)} clients`,
    `    registrations/s into a tenant of ${fmt(total)}: MeshGate ${fmt(lastRate)} (the last ${fmt(last.nodes.length)}, ${options.registerConcurrency} in flight; ${fmt(allRate)}/s over all ${fmt(total)}) | floor — | goal ≥ 1,000/s: ${met(lastRate >= 1000)}`,
    `    bytes per stream per change: firewall ${bytesText(product.firewall, floor.firewall)}${product.peers && floor.peers ? `; new peers ${bytesText(product.peers, floor.peers)}` : ''}; full config on connect median ${fmt(pct(product.rss.connectBytes, 0.5))}, max ${fmt(pct(product.rss.connectBytes, 1))}`,
    `    server RSS per stream: MeshGate ${kb(product.rss.perStream)} (${mb(product.rss.rss0)} → ${mb(product.rss.rss1)}) | floor ${kb(floor.rss.perStream)} (${mb(floor.rss.rss0)} → ${mb(floor.rss.rss1)})`,
    `    server CPU per change (median): firewall MeshGate ${cpu(product.firewall)} | floor ${cpu(floor.firewall)}${product.peers && floor.peers ? `; new peers MeshGate ${cpu(product.peers)} | floor ${cpu(floor.peers)}` : ''}`,
  ];
  return lines;
}
