import { ChildProcess } from 'node:child_process';
import { cpuSeconds, pct, sleep } from './servers';
import { SseClient } from './sse-client';

/** What a series of changes cost, per change (outer index) and per client or server (inner index). */
export interface ChangeSeries {
  /** Milliseconds from just before the trigger until the client had its patch frame; null: not within the timeout. */
  deliveries: (number | null)[][];
  /** Bytes each client received. */
  bytes: number[][];
  /** CPU seconds each server used, from the trigger until 200 ms after the last delivery. */
  serverCpu: number[][];
  /** CPU seconds of this process (the clients) over the same time. */
  clientCpu: number[];
  /** The p99 of the first, unmeasured change (see changeSeries), over the clients it reached. */
  coldP99Ms: number;
}

/**
 * `count` changes measured at SSE clients (bench parts f and k): each waits for the previous one's frames to drain,
 * forgets the clients' frames (a heap of old ones would put the load generator's GC into what it measures), runs
 * `trigger(k)` and waits for every client's next patch frame; `after` runs after each, unmeasured.
 *
 * The first change (k = 0) warms up and is kept apart: it runs every server's fan-out code for the first time (the
 * JIT compiles it), which a long-running server pays once, and with a few changes its slowest clients would be the
 * p99. The `count` measured changes are k = 1..count.
 */
export async function changeSeries(
  clients: readonly SseClient[], servers: readonly ChildProcess[], count: number, timeoutMs: number,
  trigger: (k: number) => Promise<unknown>, after: () => Promise<unknown> = async () => undefined,
): Promise<ChangeSeries> {
  const series: ChangeSeries = { deliveries: [], bytes: [], serverCpu: [], clientCpu: [], coldP99Ms: NaN };
  for (let k = 0; count > 0 && k <= count; k++) {
    await sleep(500);
    for (const c of clients) c.forgetFrames();
    const before = clients.map((c) => c.bytes);
    const cpuBefore = { servers: servers.map(cpuSeconds), clients: process.cpuUsage() };
    const t0 = process.hrtime.bigint();
    await trigger(k);
    const frames = await Promise.all(clients.map((c) => c.next((f) => f.event === 'patch', timeoutMs)));
    for (const c of clients) c.forgetFrames();
    await sleep(200);
    const serverCpu = servers.map((s, i) => cpuSeconds(s) - cpuBefore.servers[i]);
    const used = process.cpuUsage(cpuBefore.clients);
    const deliveries = frames.map((f) => (f === null ? null : Number(f.at - t0) / 1e6));
    const bytes = clients.map((c, i) => c.bytes - before[i]);
    await after();
    if (k === 0) {
      series.coldP99Ms = pct(deliveries.filter((d): d is number => d !== null).sort((a, b) => a - b), 0.99);
      continue;
    }
    series.serverCpu.push(serverCpu);
    series.clientCpu.push((used.user + used.system) / 1e6);
    series.deliveries.push(deliveries);
    series.bytes.push(bytes);
  }
  return series;
}

/** The deliveries of the clients `which` picks (all by default) over every change, sorted, and how many never came. */
export function deliveriesOf(series: ChangeSeries, which: (client: number) => boolean = () => true): { ms: number[]; missed: number } {
  const ms: number[] = [];
  let missed = 0;
  for (const change of series.deliveries) {
    change.forEach((d, i) => {
      if (!which(i)) return;
      if (d === null) missed++;
      else ms.push(d);
    });
  }
  return { ms: ms.sort((a, b) => a - b), missed };
}

export const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
