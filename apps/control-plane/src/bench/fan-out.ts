/**
 * Bench part (f): a policy change reaching `clients` SSE clients spread over the replicas of one PostgreSQL.
 *
 * A full mesh at 10,000 nodes is not what this measures: every config would be over 1 MB, so connecting the
 * clients alone would move ~15 GB. The tenant is hub-and-spoke instead: `hubs` nodes named hub-0… that every node
 * may reach (`* → hubs`), so a spoke has `hubs` peers and a hub has every node. The change alternately cuts hub-0
 * out (deny hub-0 ↔ *) and lets it back in: every node's config changes (a spoke and the other hubs lose or regain
 * hub-0; hub-0 loses or regains everyone), so every client must be sent a patch. Each change is made through the
 * next replica in turn; the time runs from just before its PUT until each client has parsed the frame carrying
 * the new version.
 */
import { ChildProcess } from 'node:child_process';
import { changeSeries, deliveriesOf, mean } from './change-series';
import { SseClient } from './sse-client';
import { api, fmt, pct, RegistrationResult } from './servers';

export interface FanOutOptions {
  clients: number;
  hubs: number;
  changes: number;
  /** Clients connecting at once (each wave waits for its full configs). */
  connectWave: number;
  timeoutMs: number;
}

export const hubName = (i: number) => `hub-${i}`;
export const spokeName = (i: number) => `s${String(i).padStart(5, '0')}`;

export function hubPolicy(hubs: number, isolateHub0: boolean) {
  const names = Array.from({ length: hubs }, (_, i) => hubName(i));
  return {
    acls: [
      { action: 'accept', src: ['*'], dst: names },
      ...(isolateHub0 ? [{ action: 'deny', src: [names[0]], dst: ['*'] }, { action: 'deny', src: ['*'], dst: [names[0]] }] : []),
    ],
  };
}

/**
 * Opens `count` SSE clients, `connectWave` at a time, each wave waiting for every client's `config` frame; pushes
 * them into `clients` as they are opened (the caller closes them, also those of a wave that failed).
 */
export async function connectInWaves(
  clients: SseClient[], count: number, open: (i: number) => SseClient, options: { connectWave: number; timeoutMs: number },
): Promise<void> {
  for (let from = 0; from < count; from += options.connectWave) {
    const wave: SseClient[] = [];
    for (let i = from; i < Math.min(count, from + options.connectWave); i++) {
      const c = open(i);
      clients.push(c);
      wave.push(c);
    }
    const got = await Promise.all(wave.map((c) => c.next((f) => f.event === 'config', options.timeoutMs)));
    const missing = got.filter((f) => f === null).length;
    if (missing) {
      const c = wave[got.findIndex((f) => f === null)];
      throw new Error(`${missing} of ${wave.length} SSE clients got no config (e.g. status ${c.status}, ${c.error?.message ?? 'no error'})`);
    }
  }
}

/** `replicas`: the servers' processes, in the order of `ports` (for the CPU each change costs them). */
export async function runFanOut(
  ports: readonly number[], replicas: readonly ChildProcess[], admin: string, registration: RegistrationResult, initialPolicyVersion: number,
  options: FanOutOptions,
): Promise<string[]> {
  const { nodes } = registration;
  const clients: SseClient[] = [];
  const replicaOf = (i: number) => i % ports.length;
  const connectStarted = Date.now();
  try {
    await connectInWaves(clients, nodes.length, (i) => new SseClient(ports[replicaOf(i)], `/api/v1/nodes/${nodes[i].id}/config/stream`, nodes[i].nodeToken), options);
    const connectSeconds = (Date.now() - connectStarted) / 1000;
    const fullBytes = clients.map((c) => c.bytes).sort((a, b) => a - b);

    const putMs: number[] = [];
    let version = initialPolicyVersion;
    // Each change through the next replica in turn.
    const series = await changeSeries(clients, replicas, options.changes, options.timeoutMs, async (change) => {
      const t0 = process.hrtime.bigint();
      version = (await api<{ version: number }>(ports[change % ports.length], 'PUT', '/api/v1/policies', admin,
        hubPolicy(options.hubs, change % 2 === 0), { 'if-match': String(version) })).version;
      if (change > 0) putMs.push(Number(process.hrtime.bigint() - t0) / 1e6); // 0 warms up (changeSeries)
    });
    const { ms: latencies, missed } = deliveriesOf(series);
    const byReplica = ports.map((_, r) => deliveriesOf(series, (i) => replicaOf(i) === r).ms);
    const patchBytes = series.bytes.flat().sort((a, b) => a - b);
    const replicaCpu = replicas.map((_, r) => mean(series.serverCpu.map((change) => change[r])));
    const p99 = pct(latencies, 0.99);
    return [
      `(f) policy change → ${fmt(clients.length)} SSE clients over ${ports.length} replicas on one PostgreSQL (hub-and-spoke: ${options.hubs} hubs), ${options.changes} changes, each through the next replica, after one unmeasured (p99 ${fmt(series.coldP99Ms)} ms):`,
      `    p50 ${pct(latencies, 0.5).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${pct(latencies, 1).toFixed(0)} ms over ${fmt(latencies.length)} deliveries${missed ? `, ${missed} NOT delivered within ${options.timeoutMs} ms` : ''}      target p99 < 1 s: ${p99 < 1000 && missed === 0 ? 'met' : 'NOT met'}`,
      `    p99 by replica of the client: ${byReplica.map((l, r) => `r${r} ${pct(l, 0.99).toFixed(0)} ms`).join(', ')}`,
      `    the PUT answered (committed) after ${putMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
      `    CPU per change (mean, s, from the PUT until 200 ms after the last delivery): ${replicaCpu.map((c, r) => `r${r} ${c.toFixed(2)}`).join(', ')}; the clients (this process) ${mean(series.clientCpu).toFixed(2)}`,
      `    bytes per client per change: median ${pct(patchBytes, 0.5)}, max ${pct(patchBytes, 1)} (full config on connect: median ${pct(fullBytes, 0.5)}, max ${pct(fullBytes, 1)})`,
      `    registering the ${fmt(nodes.length)} nodes: ${registration.seconds.toFixed(1)} s (${fmt(nodes.length / registration.seconds)}/s over ${ports.length} replicas, ${registration.retries} retried after a lost race); connecting the clients: ${connectSeconds.toFixed(1)} s`,
    ];
  } finally {
    for (const c of clients) c.close();
  }
}
