/**
 * Bench part (e): heartbeats of nodes with 100 peers in steady state, over HTTP, on one store layout (SQLite; or
 * PostgreSQL with one or several replicas), and the bare endpoint with as many processes right after it.
 *
 * `peers + 1` nodes are registered in an allow-all tenant, so each has `peers` peers, and every heartbeat reports the
 * node's real peers (the control plane refuses foreign ones) with recent handshakes. Per node: a first heartbeat
 * (coming online: every handshake established, every counter), a second identical one (nothing material: NodeSeen),
 * then the closed loop of identical heartbeats that is measured — every one of them should be a NodeSeen, and the
 * report says which types the log got. The log's bytes on disk are measured before and after (store-probe.ts) and
 * divided by the events appended. Last, `busyRounds` rounds in which every counter moved by 25% (each heartbeat then
 * records 100 peers' counters): the bytes of a heartbeat that crosses the counter bucket, for the log-growth bound.
 */
import { closedLoop, LoadResult } from './http-load';
import { freePort, Processes, RegistrationResult, sleep, waitFor } from './servers';
import { StoreProbe } from './store-probe';

export interface PeerHeartbeatOptions {
  peers: number;
  seconds: number;
  concurrency: number;
  busyRounds: number;
  /** Bytes per heartbeat are measured over at least this many steady-state heartbeats (more after the timed loop if needed). */
  minBytesEvents: number;
}

/** A running store layout: its replicas' ports, an admin token, its registered nodes, a probe, and how to stop it. */
export interface Layout {
  label: string;
  ports: number[];
  admin: string;
  registration: RegistrationResult;
  probe: StoreProbe;
  stop(): Promise<void>;
}

export interface PeerHeartbeatFigures {
  label: string;
  processes: number;
  load: LoadResult;
  bare: LoadResult;
  /** Events appended by the measured loop, by type. */
  types: Record<string, number>;
  appended: number;
  /** Bytes per steady-state heartbeat: the log (events + indexes + streams) and the whole database. */
  seenBytes: { log: number; total: number };
  /** Bytes per first heartbeat (coming online with `peers` handshakes and counters). */
  firstBytes: number;
  firstDataBytes: number;
  /** Bytes per heartbeat that records every peer's counters (and the mean length of its data). */
  busyBytes: number;
  busyDataBytes: number;
  busyEvents: number;
  registration: { nodes: number; seconds: number; retries: number };
}

interface PeerReport { publicKey: string; lastHandshakeAt: string; rxBytes: number; txBytes: number }

/** What node i reports: its real peers (every other node), handshakes a few seconds old, counters scaled by `factor`. */
function heartbeatBody(layout: Layout, i: number, factor: number): string {
  const now = Date.now();
  const peers: PeerReport[] = [];
  let rx = 0;
  let tx = 0;
  layout.registration.nodes.forEach((peer, j) => {
    if (j === i) return;
    const p = {
      publicKey: peer.publicKey,
      lastHandshakeAt: new Date(now - 5_000 - ((i * 7 + j * 13) % 60_000)).toISOString(),
      rxBytes: Math.round((1_000_000 + 977 * j + 131 * i) * factor),
      txBytes: Math.round((2_000_000 + 613 * j + 17 * i) * factor),
    };
    rx += p.rxBytes;
    tx += p.txBytes;
    peers.push(p);
  });
  return JSON.stringify({ rxBytes: rx, txBytes: tx, peers });
}

/** One heartbeat from every node, all at once; throws on any refusal. */
async function round(layout: Layout, factor: number): Promise<void> {
  const { nodes } = layout.registration;
  await Promise.all(nodes.map(async (node, i) => {
    const res = await fetch(`http://127.0.0.1:${layout.ports[i % layout.ports.length]}/api/v1/nodes/${node.id}/heartbeat`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${node.nodeToken}` }, body: heartbeatBody(layout, i, factor),
    });
    if (res.status !== 202) throw new Error(`heartbeat of ${node.name} → ${res.status} ${await res.text()}`);
  }));
}

export async function runPeerHeartbeats(procs: Processes, layout: Layout, options: PeerHeartbeatOptions): Promise<PeerHeartbeatFigures> {
  const { probe } = layout;
  const { nodes } = layout.registration;
  const loops = Math.min(options.concurrency, nodes.length);

  // First heartbeat: coming online, every handshake and counter recorded.
  let before = await probe.usage();
  let head = await probe.head();
  await round(layout, 1);
  let after = await probe.usage();
  let newHead = await probe.head();
  const firstBytes = (after.log - before.log) / Math.max(1, newHead - head);
  const firstDataBytes = await probe.meanDataBytes(head, newHead);
  await round(layout, 1); // nothing material: NodeSeen

  // Steady state: the same report again and again.
  const bodies = nodes.map((_, i) => heartbeatBody(layout, i, 1));
  const target = {
    port: (loop: number) => layout.ports[loop % layout.ports.length],
    path: (loop: number) => `/api/v1/nodes/${nodes[loop].id}/heartbeat`,
    headers: (loop: number) => ({ authorization: `Bearer ${nodes[loop].nodeToken}` }),
    body: (loop: number) => bodies[loop],
  };
  await closedLoop(target, loops, 2); // warm-up (JIT, connections)
  before = await probe.usage();
  head = await probe.head();
  const load = await closedLoop(target, loops, options.seconds);
  // Enough heartbeats that a page more or less does not show in the bytes per heartbeat (untimed).
  while ((await probe.head()) - head < options.minBytesEvents) await closedLoop(target, loops, 2);
  after = await probe.usage();
  newHead = await probe.head();
  const appended = newHead - head;
  const types = await probe.typesBetween(head, newHead);
  const seenBytes = { log: (after.log - before.log) / Math.max(1, appended), total: (after.total - before.total) / Math.max(1, appended) };

  // Busy links: every counter 25% up each round, so every peer's counters cross the bucket.
  before = after;
  head = newHead;
  for (let r = 1; r <= options.busyRounds; r++) await round(layout, 1.25 ** r);
  after = await probe.usage();
  newHead = await probe.head();
  const busyEvents = newHead - head;
  const busyBytes = (after.log - before.log) / Math.max(1, busyEvents);
  const busyDataBytes = await probe.meanDataBytes(head, newHead);
  await layout.stop();

  // The bare endpoint, as many processes, the same bodies, right after.
  const bare = await runBare(procs, layout.ports.length, loops, options.seconds, bodies);
  return {
    label: layout.label, processes: layout.ports.length, load, bare, types, appended, seenBytes, firstBytes, firstDataBytes,
    busyBytes, busyDataBytes, busyEvents,
    registration: { nodes: nodes.length, seconds: layout.registration.seconds, retries: layout.registration.retries },
  };
}

async function runBare(procs: Processes, processes: number, loops: number, seconds: number, bodies: string[]): Promise<LoadResult> {
  const servers = await Promise.all(Array.from({ length: processes }, async () => {
    const port = await freePort();
    const child = procs.start('bare-server.js', { PORT: String(port) });
    await waitFor(`http://127.0.0.1:${port}/`, child, { anyStatus: true });
    return { port, child };
  }));
  try {
    const target = {
      port: (loop: number) => servers[loop % servers.length].port,
      path: (loop: number) => `/bare/node-${loop}/heartbeat`,
      headers: () => ({}),
      body: (loop: number) => bodies[loop],
    };
    await closedLoop(target, loops, 2);
    return await closedLoop(target, loops, seconds);
  } finally {
    await Promise.all(servers.map((s) => procs.stop(s.child)));
    await sleep(200);
  }
}
