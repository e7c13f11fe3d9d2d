/**
 * `npm run bench`: the control plane's figures, measured on this machine in one run.
 *  (a) heartbeats/s over HTTP with 64 concurrent clients (one reported peer), against a bare endpoint of the same adapter;
 *  (b) time from a policy change until 1,000 SSE clients in a full mesh have the new version (p50, p99), bytes each;
 *  (c) replay speed over 1,000,000 events built through the append path (SQLite);
 *  (d) config computation on the domain topology: 10,000 nodes and 1,000 ACLs (rebuild, joins, a policy edit, a
 *      schedule window), in process;
 *  (e) heartbeats of nodes with 100 peers in steady state (NodeSeen): heartbeats/s and bytes on disk per heartbeat on
 *      SQLite, on PostgreSQL with one replica and with three (aggregate), each against the bare endpoint with as
 *      many processes (peer-heartbeats.ts);
 *  (f) policy change → 10,000 SSE clients spread over three replicas on one PostgreSQL: p50/p99 (fan-out.ts);
 *  (g) replica start-up from a view snapshot on a 10M-event log, and `replay --full` events/s, on SQLite and on
 *      PostgreSQL (start-up.ts; the log is written by load-log.ts's bulk loader, see there);
 *  (h) log growth per day at 10,000 nodes heartbeating every 30 s, from (e)'s bytes per heartbeat (printed with (e);
 *      BENCH_PARTS=h runs (e));
 *  (i) the audit time machine's queries (reachability, access, timeline, node history, policy versions) over a
 *      1,000,000-event log, on SQLite and PostgreSQL (time-machine.ts);
 *  (j) the audit export's throughput over HTTP, events/s and MB/s, over a 1,000,000-event log on SQLite
 *      (audit-export.ts);
 *  (k) the floors: heartbeats/s, a firewall change and a change adding ~N peers per node (p99 to N SSE agents), and
 *      registrations/s, each as MeshGate (SQLite, one replica), a bare node:http floor and the ratio, at 1,000, 3,000
 *      and 10,000 SSE clients, with server RSS per stream and bytes per stream per change (floors.ts).
 * Servers run as child processes on loopback so the load generator does not share their event loop. PostgreSQL:
 * BENCH_PG_ADMIN_URL (a superuser URL; the bench creates and drops its own databases), else a throwaway cluster
 * started for the run (postgres.ts). Every child process, database and temp dir is removed at the end, also on
 * Ctrl-C.
 *
 * Sizes (env; defaults are the issue's sizes):
 *   BENCH_PARTS                 parts to run, default "abcdefghijk" (e.g. BENCH_PARTS=eg); (b) needs (a)'s server, not its figures
 *   BENCH_HEARTBEAT_SECONDS     (a), and (e) unless BENCH_PEER_SECONDS is set: seconds of load per measurement, 10
 *   BENCH_SSE_CLIENTS           (b) clients (and nodes), 1000
 *   BENCH_POLICY_CHANGES        (b), (f) and (k)'s firewall row: policy changes, 6
 *   BENCH_REPLAY_EVENTS         (c) events, 1,000,000
 *   BENCH_CONFIG_NODES / BENCH_CONFIG_ACLS / BENCH_CONFIG_JOINS    (d) 10,000 / 1,000 / 200
 *   BENCH_LAYOUTS               (e) store layouts, "sqlite,pg1,pg3" (pg3: BENCH_REPLICAS replicas)
 *   BENCH_REPLICAS              (e) pg3 and (f): replicas on one PostgreSQL, 3
 *   BENCH_PEERS                 (e) peers per node (BENCH_PEERS + 1 nodes are registered), 100
 *   BENCH_PEER_SECONDS          (e) seconds of steady-state load per layout (and as long on the bare endpoint), 10
 *   BENCH_PEER_CONCURRENCY      (e) concurrent clients (one node each), 64
 *   BENCH_BUSY_ROUNDS           (e) rounds of heartbeats that record every peer's counters, 5
 *   BENCH_BYTES_MIN_EVENTS      (e) bytes per heartbeat are measured over at least this many heartbeats, 5,000
 *   BENCH_FANOUT_CLIENTS        (f) SSE clients (and registered nodes), 10,000
 *   BENCH_FANOUT_HUBS           (f) and (k) hubs every node may reach, 10
 *   BENCH_REGISTER_CONCURRENCY  (f) and (k) registrations in flight, spread over the replicas, 24
 *   BENCH_FANOUT_WAVE           (f) and (k) clients connecting at once, 500
 *   BENCH_FANOUT_TIMEOUT_MS     (f) longest wait for a config or a change, 30,000
 *   BENCH_STARTUP_STORES        (g) "sqlite,postgres"
 *   BENCH_STARTUP_EVENTS        (g) events in the log, 10,000,000
 *   BENCH_STARTUP_TAIL          (g) events after the snapshot, 100,000 (SNAPSHOT_EVERY_EVENTS' default: the worst case)
 *   BENCH_STARTUP_NODES         (g) nodes in the log, 1,000
 *   BENCH_STARTUP_RUNS          (g) start-ups timed per store, 2
 *   BENCH_GROWTH_NODES / BENCH_GROWTH_INTERVAL_SECONDS             (h) 10,000 / 30
 *   BENCH_TM_STORES / BENCH_TM_EVENTS / BENCH_TM_NODES             (i) "sqlite,postgres" / 1,000,000 / 1,000
 *   BENCH_EXPORT_EVENTS / BENCH_EXPORT_NODES                       (j) 1,000,000 / 1,000
 *   BENCH_FLOOR_CLIENTS         (k) sizes, SSE clients (and nodes), "1000,3000,10000"
 *   BENCH_FLOOR_PEER_CHANGES    (k) changes adding ~N peers per node (each undone, unmeasured), 2
 *   BENCH_FLOOR_MESH_MAX        (k) the new-peers row runs up to this many clients, 3,000
 *   BENCH_FLOOR_TIMEOUT_MS      (k) longest wait for a config or a change, 120,000
 *   (k) also uses BENCH_HEARTBEAT_SECONDS per heartbeat measurement
 *   BENCH_PG_ADMIN_URL          a PostgreSQL superuser URL to use instead of a throwaway cluster
 *   BENCH_SERVER_NODE_ARGS      extra node flags for the servers, e.g. --cpu-prof
 */
import { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COUNTER_MAX_AGE_MS } from '@meshgate/domain';
import { replay } from '../replay';
import { buildLog, publicKey } from './build-log';
import { runConfigBench } from './config-compute';
import { runFloors } from './floors';
import { hubName, hubPolicy, runFanOut, spokeName } from './fan-out';
import { closedLoop } from './http-load';
import { Layout, PeerHeartbeatFigures, runPeerHeartbeats } from './peer-heartbeats';
import { BenchPostgres, createBenchDatabase, startBenchPostgres } from './postgres';
import {
  api, fmt, freePort, pct, Processes, registerNodes, setupTenant, startControlPlane, startReplicas, waitFor, waitForNodes,
} from './servers';
import { SseClient } from './sse-client';
import { runStartUp } from './start-up';
import { runTimeMachine } from './time-machine';
import { runAuditExport } from './audit-export';
import { postgresProbe, sqliteProbe, StoreProbe } from './store-probe';

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);

const HEARTBEAT_SECONDS = int('BENCH_HEARTBEAT_SECONDS', 10);
const SSE_CLIENTS = int('BENCH_SSE_CLIENTS', 1000);
const POLICY_CHANGES = int('BENCH_POLICY_CHANGES', 6);
const REPLAY_EVENTS = int('BENCH_REPLAY_EVENTS', 1_000_000);
const CONFIG_NODES = int('BENCH_CONFIG_NODES', 10_000);
const CONFIG_ACLS = int('BENCH_CONFIG_ACLS', 1000);
const CONFIG_JOINS = int('BENCH_CONFIG_JOINS', 200);
const LAYOUTS = list('BENCH_LAYOUTS', 'sqlite,pg1,pg3');
const REPLICAS = int('BENCH_REPLICAS', 3);
const PEERS = int('BENCH_PEERS', 100);
const PEER_SECONDS = int('BENCH_PEER_SECONDS', HEARTBEAT_SECONDS);
const PEER_CONCURRENCY = int('BENCH_PEER_CONCURRENCY', 64);
const BUSY_ROUNDS = int('BENCH_BUSY_ROUNDS', 5);
const BYTES_MIN_EVENTS = int('BENCH_BYTES_MIN_EVENTS', 5000);
const FANOUT_CLIENTS = int('BENCH_FANOUT_CLIENTS', 10_000);
const FANOUT_HUBS = int('BENCH_FANOUT_HUBS', 10);
const REGISTER_CONCURRENCY = int('BENCH_REGISTER_CONCURRENCY', 24);
const FANOUT_WAVE = int('BENCH_FANOUT_WAVE', 500);
const FANOUT_TIMEOUT_MS = int('BENCH_FANOUT_TIMEOUT_MS', 30_000);
const STARTUP_STORES = list('BENCH_STARTUP_STORES', 'sqlite,postgres');
const STARTUP_EVENTS = int('BENCH_STARTUP_EVENTS', 10_000_000);
const STARTUP_TAIL = int('BENCH_STARTUP_TAIL', 100_000);
const STARTUP_NODES = int('BENCH_STARTUP_NODES', 1000);
const STARTUP_RUNS = int('BENCH_STARTUP_RUNS', 2);
const GROWTH_NODES = int('BENCH_GROWTH_NODES', 10_000);
const TM_STORES = list('BENCH_TM_STORES', 'sqlite,postgres');
const TM_EVENTS = int('BENCH_TM_EVENTS', 1_000_000);
const TM_NODES = int('BENCH_TM_NODES', 1000);
const EXPORT_EVENTS = int('BENCH_EXPORT_EVENTS', 1_000_000);
const EXPORT_NODES = int('BENCH_EXPORT_NODES', 1000);
const GROWTH_INTERVAL_SECONDS = int('BENCH_GROWTH_INTERVAL_SECONDS', 30);
const FLOOR_CLIENTS = list('BENCH_FLOOR_CLIENTS', '1000,3000,10000').map(Number);
const FLOOR_PEER_CHANGES = int('BENCH_FLOOR_PEER_CHANGES', 2);
const FLOOR_MESH_MAX = int('BENCH_FLOOR_MESH_MAX', 3000);
const FLOOR_TIMEOUT_MS = int('BENCH_FLOOR_TIMEOUT_MS', 120_000);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'abcdefghijk').toLowerCase());
if (PARTS.has('h')) PARTS.add('e');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-bench-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const procs = new Processes();
  const cluster: { pg: BenchPostgres | null } = { pg: null };
  const pg = async () => (cluster.pg ??= await startBenchPostgres());
  // Each part's figures go to stderr as soon as it is done (a long run that fails later keeps them), and all of
  // them to stdout at the end.
  const started = Date.now();
  const report = {
    blocks: [] as string[],
    push(block: string) {
      this.blocks.push(block);
      process.stderr.write(`[bench +${((Date.now() - started) / 60_000).toFixed(1)} min]\n${block}\n`);
    },
  };
  try {
    if (PARTS.has('a') || PARTS.has('b')) {
      // ---- (a) heartbeats ----
      const { port, child: cp } = await startControlPlane(procs, { DATABASE_PATH: join(dir, 'bench.sqlite') });
      const { admin } = await setupTenant(port);
      await api(port, 'PUT', '/api/v1/policies', admin, { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] });

      const nodes: { id: string; nodeToken: string; name: string }[] = [];
      const registerStarted = Date.now();
      for (let i = 0; i < SSE_CLIENTS; i++) {
        nodes.push(await api(port, 'POST', '/api/v1/nodes', admin, { name: `n${String(i).padStart(4, '0')}`, publicKey: publicKey(), endpoint: `198.18.${i >> 8}.${i & 255}:51820` }));
      }
      const registerSeconds = (Date.now() - registerStarted) / 1000;

      // A heartbeat may report only the node's real peers: one node every other one peers with (allow-all).
      const reportedPeer = publicKey();
      await api(port, 'POST', '/api/v1/nodes', admin, { name: 'reported-peer', publicKey: reportedPeer });
      const body = JSON.stringify({ rxBytes: 123456, txBytes: 654321, peers: [{ publicKey: reportedPeer, lastHandshakeAt: new Date().toISOString(), rxBytes: 1, txBytes: 2 }] });
      const heartbeatTarget = {
        port, body,
        path: (i: number) => `/api/v1/nodes/${nodes[i % nodes.length].id}/heartbeat`,
        headers: (i: number) => ({ authorization: `Bearer ${nodes[i % nodes.length].nodeToken}` }),
      };
      if (PARTS.has('a')) {
        await closedLoop(heartbeatTarget, 64, 2); // warm-up
        const hb = await closedLoop(heartbeatTarget, 64, HEARTBEAT_SECONDS);

        const barePort = await freePort();
        const bare = procs.start('bare-server.js', { PORT: String(barePort) });
        await waitFor(`http://127.0.0.1:${barePort}/`, bare, { anyStatus: true });
        const bareTarget = { ...heartbeatTarget, port: barePort, path: (i: number) => `/bare/${nodes[i % nodes.length].id}/heartbeat` };
        await closedLoop(bareTarget, 64, 2);
        const bareResult = await closedLoop(bareTarget, 64, HEARTBEAT_SECONDS);
        await procs.stop(bare);
        const ratio = hb.perSecond / bareResult.perSecond;
        report.push(`(a) heartbeats, 64 concurrent clients, ${HEARTBEAT_SECONDS} s:
    control plane: ${hb.perSecond.toFixed(0)} heartbeats/s (p50 ${hb.p50Ms.toFixed(1)} ms, p99 ${hb.p99Ms.toFixed(1)} ms, ${hb.errors} errors of ${hb.requests})
    bare endpoint: ${bareResult.perSecond.toFixed(0)} requests/s (p50 ${bareResult.p50Ms.toFixed(1)} ms)
    ratio: ${(ratio * 100).toFixed(1)}% of bare      target ≥ 5,000/s and ≥ 40%: ${hb.perSecond >= 5000 && ratio >= 0.4 ? 'met' : 'NOT met'}`);
      }

      if (PARTS.has('b')) {
        // ---- (b) policy change → 1,000 SSE clients ----
        const clients = nodes.map((n) => new SseClient(port, `/api/v1/nodes/${n.id}/config/stream`, n.nodeToken));
        await Promise.all(clients.map((c) => c.next((f) => f.event === 'config')));
        const fullConfigBytes = clients.reduce((n, c) => n + c.bytes, 0) / clients.length;
        const latencies: number[] = [];
        const patchBytes: number[] = [];
        let policyVersion = 1;
        for (let change = 0; change < POLICY_CHANGES; change++) {
          // Alternately cut node n0000 out of the mesh and let it back in: every node's config changes.
          const isolate = change % 2 === 0;
          const acls = [{ action: 'accept', src: ['*'], dst: ['*'] }, ...(isolate ? [{ action: 'deny', src: ['n0000'], dst: ['*'] }, { action: 'deny', src: ['*'], dst: ['n0000'] }] : [])];
          const before = clients.map((c) => ({ bytes: c.bytes, frames: c.frames.length }));
          const t0 = process.hrtime.bigint();
          const put = await api<{ version: number }>(port, 'PUT', '/api/v1/policies', admin, { acls }, { 'if-match': String(policyVersion) });
          policyVersion = put.version;
          const received = await Promise.all(clients.map((c, i) => c.next((f) => c.frames.indexOf(f) >= before[i].frames)));
          received.forEach((f) => latencies.push(Number(f.at - t0) / 1e6));
          await new Promise((r) => setTimeout(r, 200));
          clients.forEach((c, i) => patchBytes.push(c.bytes - before[i].bytes));
        }
        clients.forEach((c) => c.close());
        latencies.sort((a, b) => a - b);
        patchBytes.sort((a, b) => a - b);
        report.push(`(b) policy change → ${clients.length} SSE clients in a full mesh, ${POLICY_CHANGES} changes:
    p50 ${pct(latencies, 0.5).toFixed(0)} ms, p99 ${pct(latencies, 0.99).toFixed(0)} ms, max ${pct(latencies, 1).toFixed(0)} ms      target p99 < 1 s: ${pct(latencies, 0.99) < 1000 ? 'met' : 'NOT met'}
    bytes per client per change: median ${pct(patchBytes, 0.5)}, max ${pct(patchBytes, 1)} (full config on connect: ${fullConfigBytes.toFixed(0)} bytes)
    (registering the ${clients.length} nodes one by one into the full mesh took ${registerSeconds.toFixed(1)} s)`);
      }
      await procs.stop(cp);
    }

    if (PARTS.has('c')) {
      // ---- (c) replay over 1,000,000 events ----
      const replayPath = join(dir, 'replay.sqlite');
      const built = await buildLog(replayPath, REPLAY_EVENTS);
      const lines: string[] = [];
      const ok = await replay(replayPath, { full: true }, (l) => lines.push(l));
      report.push(`(c) replay of ${built.events} events (log built in ${built.seconds.toFixed(1)} s):
    ${lines.join('\n    ')}
    target ≥ 100,000 events/s`);
      if (!ok) process.exitCode = 1;
      rmSync(replayPath, { force: true });
    }

    if (PARTS.has('d')) {
      // ---- (d) config computation at scale, in process ----
      const d = runConfigBench({ nodes: CONFIG_NODES, acls: CONFIG_ACLS, joins: CONFIG_JOINS });
      report.push(d.lines.join('\n'));
      if (!d.ok) process.exitCode = 1;
    }

    if (PARTS.has('e')) {
      // ---- (e) heartbeats with 100 peers, bytes per heartbeat; (h) log growth ----
      const figures: PeerHeartbeatFigures[] = [];
      for (const kind of LAYOUTS) {
        const layout = await startLayout(procs, kind, dir, pg);
        figures.push(await runPeerHeartbeats(procs, layout, { peers: PEERS, seconds: PEER_SECONDS, concurrency: PEER_CONCURRENCY, busyRounds: BUSY_ROUNDS, minBytesEvents: BYTES_MIN_EVENTS }));
      }
      report.push(peerHeartbeatReport(figures).join('\n'));
      report.push(growthReport(figures).join('\n'));
    }

    if (PARTS.has('f')) {
      // ---- (f) policy change → 10,000 SSE clients over three replicas ----
      const db = await createBenchDatabase((await pg()).adminUrl, 'f');
      const replicas = await startReplicas(procs, REPLICAS, db.url, join(dir, 'f'));
      try {
        const ports = replicas.map((r) => r.port);
        const { admin } = await setupTenant(ports[0]);
        const policy = await api<{ version: number }>(ports[0], 'PUT', '/api/v1/policies', admin, hubPolicy(FANOUT_HUBS, false));
        const registration = await registerNodes(ports, admin, FANOUT_CLIENTS, REGISTER_CONCURRENCY, (i) => (i < FANOUT_HUBS ? hubName(i) : spokeName(i)));
        await waitForNodes(ports, admin, FANOUT_CLIENTS);
        report.push((await runFanOut(ports, replicas.map((r) => r.child), admin, registration, policy.version, {
          clients: FANOUT_CLIENTS, hubs: FANOUT_HUBS, changes: POLICY_CHANGES, connectWave: FANOUT_WAVE, timeoutMs: FANOUT_TIMEOUT_MS,
        })).join('\n'));
      } finally {
        await Promise.all(replicas.map((r) => procs.stop(r.child)));
        await db.drop();
      }
    }

    if (PARTS.has('g')) {
      // ---- (g) replica start-up from a snapshot at 10M events; replay events/s ----
      const lines = [`(g) start-up from a view snapshot on a ${fmt(STARTUP_EVENTS)}-event log (steady-state heartbeats), and replay --full:`];
      for (const store of STARTUP_STORES) {
        const gDir = join(dir, `g-${store}`);
        mkdirSync(gDir, { recursive: true });
        const databasePath = join(gDir, 'meshgate.sqlite');
        const options = { events: STARTUP_EVENTS, tail: STARTUP_TAIL, nodes: STARTUP_NODES, runs: STARTUP_RUNS };
        if (store === 'sqlite') {
          const result = await runStartUp(procs, 'SQLite', { databasePath }, { DATABASE_PATH: databasePath }, async () => sqliteProbe(databasePath), options);
          lines.push(...result.lines);
          if (!result.ok) process.exitCode = 1;
        } else if (store === 'postgres') {
          const db = await createBenchDatabase((await pg()).adminUrl, 'g');
          try {
            const result = await runStartUp(procs, 'PostgreSQL', { databasePath, databaseUrl: db.url }, { DATABASE_URL: db.url, DATABASE_PATH: databasePath },
              () => postgresProbe(db.url), options);
            lines.push(...result.lines);
            if (!result.ok) process.exitCode = 1;
          } finally {
            await db.drop();
          }
        } else throw new Error(`BENCH_STARTUP_STORES: unknown store ${store} (sqlite, postgres)`);
        rmSync(gDir, { recursive: true, force: true });
      }
      report.push(lines.join('\n'));
    }

    if (PARTS.has('i')) {
      // ---- (i) audit time machine queries over 1,000,000 events ----
      const lines = [`(i) audit time machine over a ${fmt(TM_EVENTS)}-event log, each query timed five times through its handler:`];
      for (const store of TM_STORES) {
        const databasePath = join(dir, 'i.sqlite');
        const options = { events: TM_EVENTS, nodes: TM_NODES };
        if (store === 'sqlite') {
          const result = await runTimeMachine('SQLite', { databasePath }, options);
          lines.push(...result.lines);
          if (!result.met) process.exitCode = 1;
          rmSync(databasePath, { force: true });
        } else if (store === 'postgres') {
          const db = await createBenchDatabase((await pg()).adminUrl, 'i');
          try {
            const result = await runTimeMachine('PostgreSQL', { databasePath, databaseUrl: db.url }, options);
            lines.push(...result.lines);
            if (!result.met) process.exitCode = 1;
          } finally {
            await db.drop();
          }
        } else throw new Error(`BENCH_TM_STORES: unknown store ${store} (sqlite, postgres)`);
      }
      report.push(lines.join('\n'));
    }

    if (PARTS.has('j')) {
      // ---- (j) audit export throughput over HTTP ----
      const jDir = join(dir, 'j');
      mkdirSync(jDir, { recursive: true });
      report.push((await runAuditExport(procs, jDir, { events: EXPORT_EVENTS, nodes: EXPORT_NODES })).join('\n'));
      rmSync(jDir, { recursive: true, force: true });
    }

    if (PARTS.has('k')) {
      // ---- (k) every row of the performance issue against a bare node:http floor ----
      const lines = [`(k) MeshGate (SQLite, one replica) against a bare node:http floor (bare-http-server.ts), each alone in a child process, clients in the bench's; hub-and-spoke tenant (${FANOUT_HUBS} hubs), ${POLICY_CHANGES} firewall changes and ${FLOOR_PEER_CHANGES} new-peer changes per size (each series after one unmeasured change), ${HEARTBEAT_SECONDS} s per heartbeat measurement:`];
      for (const clients of FLOOR_CLIENTS) {
        const size = await runFloors(procs, dir, {
          clients, hubs: FANOUT_HUBS, firewallChanges: POLICY_CHANGES, peerChanges: FLOOR_PEER_CHANGES, meshMax: FLOOR_MESH_MAX,
          heartbeatSeconds: HEARTBEAT_SECONDS, registerConcurrency: REGISTER_CONCURRENCY, connectWave: FANOUT_WAVE, timeoutMs: FLOOR_TIMEOUT_MS,
        });
        lines.push(...size);
        process.stderr.write(`${size.join('\n')}\n`); // each size as soon as it is done
      }
      report.push(lines.join('\n'));
    }

    console.log(`
MeshGate control-plane benchmark (${new Date().toISOString()}, node ${process.version})
${report.blocks.join('\n')}
(${((Date.now() - started) / 60_000).toFixed(0)} min)
`);
  } finally {
    procs.killAll();
    await cluster.pg?.stop();
    removeDir();
  }
}

/** A store layout for (e), serving an allow-all tenant with BENCH_PEERS + 1 registered nodes. */
async function startLayout(procs: Processes, kind: string, dir: string, pg: () => Promise<BenchPostgres>): Promise<Layout> {
  // No snapshot during the measurement: the whole-database figure is then the log's alone.
  const env = { SNAPSHOT_EVERY_EVENTS: '100000000' };
  let children: ChildProcess[];
  let ports: number[];
  let probe: StoreProbe;
  let drop = async (): Promise<void> => undefined;
  let label: string;
  if (kind === 'sqlite') {
    const databasePath = join(dir, 'e-sqlite', 'meshgate.sqlite');
    const server = await startControlPlane(procs, { ...env, DATABASE_PATH: databasePath });
    children = [server.child];
    ports = [server.port];
    probe = sqliteProbe(databasePath);
    label = 'SQLite';
  } else if (kind === 'pg1' || kind === 'pg3') {
    const replicas = kind === 'pg1' ? 1 : REPLICAS;
    const db = await createBenchDatabase((await pg()).adminUrl, 'e');
    const servers = await startReplicas(procs, replicas, db.url, join(dir, `e-${kind}`), env);
    children = servers.map((s) => s.child);
    ports = servers.map((s) => s.port);
    probe = await postgresProbe(db.url);
    drop = db.drop;
    label = replicas === 1 ? 'PostgreSQL, 1 replica' : `PostgreSQL, ${replicas} replicas (aggregate)`;
  } else throw new Error(`BENCH_LAYOUTS: unknown layout ${kind} (sqlite, pg1, pg3)`);
  const { admin } = await setupTenant(ports[0]);
  await api(ports[0], 'PUT', '/api/v1/policies', admin, { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] });
  const registration = await registerNodes(ports, admin, PEERS + 1, 8, (i) => `p${String(i).padStart(4, '0')}`);
  await waitForNodes(ports, admin, PEERS + 1);
  const p = probe;
  return {
    label, ports, admin, registration, probe: p,
    async stop() {
      await p.close();
      await Promise.all(children.map((c) => procs.stop(c)));
      await drop();
    },
  };
}

function peerHeartbeatReport(figures: PeerHeartbeatFigures[]): string[] {
  const lines = [`(e) heartbeats of nodes with ${PEERS} peers in steady state (identical reports: NodeSeen), ${PEER_CONCURRENCY} concurrent clients, ${PEER_SECONDS} s per layout, each against the bare endpoint with as many processes:`];
  for (const f of figures) {
    const ratio = f.load.perSecond / f.bare.perSecond;
    const seen = f.types.NodeSeen ?? 0;
    const others = Object.entries(f.types).filter(([t]) => t !== 'NodeSeen').map(([t, n]) => `${t} ${fmt(n)}`);
    lines.push(
      `  ${f.label}:`,
      `    ${fmt(f.load.perSecond)} heartbeats/s (p50 ${f.load.p50Ms.toFixed(1)} ms, p99 ${f.load.p99Ms.toFixed(1)} ms, ${f.load.errors} errors of ${fmt(f.load.requests)}); bare endpoint ×${f.processes}: ${fmt(f.bare.perSecond)}/s → ${(ratio * 100).toFixed(1)}% of bare`,
      `    on disk per steady-state heartbeat, over ${fmt(f.appended)} of them (${(100 * seen / Math.max(1, f.appended)).toFixed(1)}% NodeSeen${others.length ? `; NOT all: ${others.join(', ')}` : ''}): ${f.seenBytes.log.toFixed(0)} bytes (events + indexes + streams), whole database ${f.seenBytes.total.toFixed(0)} bytes      target ≤ 200 bytes: ${f.seenBytes.log <= 200 ? 'met' : 'NOT met'}`,
      `    registering the ${f.registration.nodes} nodes, 8 at a time: ${fmt(f.registration.nodes / f.registration.seconds)}/s${f.registration.retries ? ` (${f.registration.retries} sent again after a lost race)` : ''}`,
      `    first heartbeat (coming online, ${PEERS} handshakes and counters): ${fmt(f.firstBytes)} bytes on disk (${fmt(f.firstDataBytes)} bytes of data); one recording ${PEERS} peers' counters (the 5-min/10% bucket crossed): ${fmt(f.busyBytes)} bytes on disk (${fmt(f.busyDataBytes)} of data, over ${f.busyEvents} heartbeats)`,
    );
  }
  return lines;
}

function growthReport(figures: PeerHeartbeatFigures[]): string[] {
  const perDay = GROWTH_NODES * (86_400 / GROWTH_INTERVAL_SECONDS);
  const perBucket = Math.max(1, Math.round(COUNTER_MAX_AGE_MS / 1000 / GROWTH_INTERVAL_SECONDS));
  const gb = (bytes: number) => `${fmt(bytes / 1e9, 1)} GB`;
  const lines = [
    `(h) log growth at ${fmt(GROWTH_NODES)} nodes heartbeating every ${GROWTH_INTERVAL_SECONDS} s (${fmt(perDay)} heartbeats/day), from (e)'s bytes on disk:`,
  ];
  for (const f of figures) {
    const idle = perDay * f.seenBytes.log;
    // Busy links: each peer's counters recorded once per COUNTER_MAX_AGE_MS (the bucket's bound), in one heartbeat
    // out of perBucket; the others NodeSeen.
    const busy = perDay * ((perBucket - 1) * f.seenBytes.log + f.busyBytes) / perBucket;
    lines.push(`  ${f.label}: ${gb(idle)}/day when nothing material changes; ${gb(busy)}/day when every link carries traffic (each peer's counters recorded every ${COUNTER_MAX_AGE_MS / 60_000} min: 1 heartbeat in ${perBucket} records all ${PEERS})`);
  }
  lines.push(`  (before the compact log: ~0.7 TB/day, every heartbeat 23.8 KB on disk)`);
  return lines;
}

process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
