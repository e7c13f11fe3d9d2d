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
import { SseClient } from './sse-client';
import { api, cpuSeconds, fmt, pct, RegistrationResult, sleep } from './servers';

export interface FanOutOptions {
  clients: number;
  hubs: number;
  changes: number;
  /** Clients connecting at once (each wave waits for its full configs). */
  connectWave: number;
  timeoutMs: number;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);

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

    const latencies: number[] = [];
    const byReplica: number[][] = ports.map(() => []);
    const patchBytes: number[] = [];
    const putMs: number[] = [];
    // CPU seconds per change of each replica, then of this process (the clients), over the change and 200 ms after.
    const cpu: number[][] = [...replicas, null].map(() => []);
    let missed = 0;
    let version = initialPolicyVersion;
    for (let change = 0; change < options.changes; change++) {
      await sleep(500); // let the previous change's frames drain everywhere
      for (const c of clients) c.forgetFrames();
      const before = clients.map((c) => c.bytes);
      const writer = change % ports.length;
      const cpuBefore = { replicas: replicas.map(cpuSeconds), bench: process.cpuUsage() };
      const t0 = process.hrtime.bigint();
      const put = await api<{ version: number }>(ports[writer], 'PUT', '/api/v1/policies', admin, hubPolicy(options.hubs, change % 2 === 0), { 'if-match': String(version) });
      version = put.version;
      putMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const received = await Promise.all(clients.map((c) => c.next((f) => f.event === 'patch', options.timeoutMs)));
      received.forEach((f, i) => {
        if (f === null) {
          missed++;
          return;
        }
        const ms = Number(f.at - t0) / 1e6;
        latencies.push(ms);
        byReplica[replicaOf(i)].push(ms);
      });
      await sleep(200);
      replicas.forEach((r, i) => cpu[i].push(cpuSeconds(r) - cpuBefore.replicas[i]));
      const bench = process.cpuUsage(cpuBefore.bench);
      cpu[replicas.length].push((bench.user + bench.system) / 1e6);
      clients.forEach((c, i) => patchBytes.push(c.bytes - before[i]));
    }
    latencies.sort((a, b) => a - b);
    patchBytes.sort((a, b) => a - b);
    for (const l of byReplica) l.sort((a, b) => a - b);
    const p99 = pct(latencies, 0.99);
    return [
      `(f) policy change → ${fmt(clients.length)} SSE clients over ${ports.length} replicas on one PostgreSQL (hub-and-spoke: ${options.hubs} hubs), ${options.changes} changes, each through the next replica:`,
      `    p50 ${pct(latencies, 0.5).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${pct(latencies, 1).toFixed(0)} ms over ${fmt(latencies.length)} deliveries${missed ? `, ${missed} NOT delivered within ${options.timeoutMs} ms` : ''}      target p99 < 1 s: ${p99 < 1000 && missed === 0 ? 'met' : 'NOT met'}`,
      `    p99 by replica of the client: ${byReplica.map((l, r) => `r${r} ${pct(l, 0.99).toFixed(0)} ms`).join(', ')}`,
      `    the PUT answered (committed) after ${putMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
      `    CPU per change (mean, s, from the PUT until 200 ms after the last delivery): ${cpu.slice(0, -1).map((l, r) => `r${r} ${mean(l).toFixed(2)}`).join(', ')}; the clients (this process) ${mean(cpu[cpu.length - 1]).toFixed(2)}`,
      `    bytes per client per change: median ${pct(patchBytes, 0.5)}, max ${pct(patchBytes, 1)} (full config on connect: median ${pct(fullBytes, 0.5)}, max ${pct(fullBytes, 1)})`,
      `    registering the ${fmt(nodes.length)} nodes: ${registration.seconds.toFixed(1)} s (${fmt(nodes.length / registration.seconds)}/s over ${ports.length} replicas, ${registration.retries} retried after a lost race); connecting the clients: ${connectSeconds.toFixed(1)} s`,
    ];
  } finally {
    for (const c of clients) c.close();
  }
}
