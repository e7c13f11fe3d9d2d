import { Agent, request } from 'node:http';

export interface LoadResult { requests: number; errors: number; seconds: number; perSecond: number; p50Ms: number; p99Ms: number }

/**
 * A closed-loop load generator: `concurrency` loops, each sending its next request when the previous one answered,
 * over keep-alive connections, for `seconds`. Bounded in time and count, loopback only.
 */
export async function closedLoop(
  target: { port: number; path: (loop: number) => string; headers: (loop: number) => Record<string, string>; body: string },
  concurrency: number,
  seconds: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = Date.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const started = process.hrtime.bigint();
  const loop = async (i: number) => {
    const path = target.path(i);
    const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(target.body)), ...target.headers(i) };
    while (Date.now() < deadline) {
      const t0 = process.hrtime.bigint();
      const status = await new Promise<number>((resolve) => {
        const req = request({ host: '127.0.0.1', port: target.port, method: 'POST', path, headers, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end(target.body);
      });
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (status < 200 || status >= 300) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length, errors, seconds: elapsed, perSecond: latencies.length / elapsed,
    p50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? 0, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}
