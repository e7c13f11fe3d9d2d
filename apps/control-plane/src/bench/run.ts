/**
 * `npm run bench`: the control plane's figures, measured on this machine in one run.
 *  (a) heartbeats/s over HTTP with 64 concurrent clients, against a bare endpoint of the same adapter;
 *  (b) time from a policy change until 1,000 SSE clients in a full mesh have the new version (p50, p99), bytes each;
 *  (c) replay speed over 1,000,000 events;
 *  (d) config computation on the domain topology: 10,000 nodes and 1,000 ACLs (rebuild, joins, a policy edit, a
 *      schedule window), in process.
 * Servers run as child processes on loopback so the load generator does not share their event loop.
 * BENCH_PARTS picks parts (default "abcd"; e.g. BENCH_PARTS=d); (b) needs the server (a) starts, not its figures.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../replay';
import { buildLog, publicKey } from './build-log';
import { runConfigBench } from './config-compute';
import { closedLoop } from './http-load';
import { SseClient } from './sse-client';

const HEARTBEAT_SECONDS = Number(process.env.BENCH_HEARTBEAT_SECONDS ?? 10);
const SSE_CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 1000);
const POLICY_CHANGES = Number(process.env.BENCH_POLICY_CHANGES ?? 6);
const REPLAY_EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 1_000_000);
const CONFIG_NODES = Number(process.env.BENCH_CONFIG_NODES ?? 10_000);
const CONFIG_ACLS = Number(process.env.BENCH_CONFIG_ACLS ?? 1000);
const CONFIG_JOINS = Number(process.env.BENCH_CONFIG_JOINS ?? 200);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'abcd').toLowerCase());

const freePort = () => new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function api<T>(port: number, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-bench-'));
  const children: ChildProcess[] = [];
  const start = (script: string, env: Record<string, string>) => {
    const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []; // e.g. --cpu-prof
    const child = spawn(process.execPath, [...nodeArgs, join(__dirname, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    return child;
  };
  const report: string[] = [];
  try {
    if (PARTS.has('a') || PARTS.has('b')) {
      // ---- (a) heartbeats ----
      const port = await freePort();
      const cp = start('../main.js', {
        PORT: String(port), HOST: '127.0.0.1', DATABASE_PATH: join(dir, 'bench.sqlite'), LOG_LEVEL: 'warn',
        AUTH_RATE_LIMIT: '100000', HEARTBEAT_INTERVAL_SECONDS: '3600', JWT_SECRET: 'bench-secret-bench-secret-bench-secret-xx',
        // The bench measures throughput, not the per-principal budgets.
        WRITE_RATE_LIMIT: '10000000', HEARTBEAT_RATE_LIMIT: '1000000',
        METRICS_PORT: '0', // the bench does not scrape; a free port keeps it from clashing with a running server's
      });
      await waitFor(`http://127.0.0.1:${port}/health`, cp);
      await api(port, 'POST', '/api/v1/auth/register', undefined, { email: 'bench@example.com', password: 'bench-password' });
      const userLogin = await api<{ accessToken: string }>(port, 'POST', '/api/v1/auth/login', undefined, { email: 'bench@example.com', password: 'bench-password' });
      const tenant = await api<{ id: string }>(port, 'POST', '/api/v1/auth/tenants', userLogin.accessToken, { name: 'bench' });
      const { accessToken: admin } = await api<{ accessToken: string }>(port, 'POST', '/api/v1/auth/login', undefined, { email: 'bench@example.com', password: 'bench-password', tenantId: tenant.id });
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
        path: (i: number) => `/api/v1/nodes/${nodes[i].id}/heartbeat`,
        headers: (i: number) => ({ authorization: `Bearer ${nodes[i].nodeToken}` }),
      };
      if (PARTS.has('a')) {
        await closedLoop(heartbeatTarget, 64, 2); // warm-up
        const hb = await closedLoop(heartbeatTarget, 64, HEARTBEAT_SECONDS);

        const barePort = await freePort();
        const bare = start('bare-server.js', { PORT: String(barePort) });
        await new Promise((r) => setTimeout(r, 1500));
        const bareTarget = { ...heartbeatTarget, port: barePort, path: (i: number) => `/bare/${nodes[i].id}/heartbeat` };
        await closedLoop(bareTarget, 64, 2);
        const bareResult = await closedLoop(bareTarget, 64, HEARTBEAT_SECONDS);
        bare.kill('SIGTERM');
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
      cp.kill('SIGTERM');
      await new Promise((r) => cp.once('exit', r));
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
    }

    if (PARTS.has('d')) {
      // ---- (d) config computation at scale, in process ----
      const d = runConfigBench({ nodes: CONFIG_NODES, acls: CONFIG_ACLS, joins: CONFIG_JOINS });
      report.push(d.lines.join('\n'));
      if (!d.ok) process.exitCode = 1;
    }

    console.log(`
MeshGate control-plane benchmark (${new Date().toISOString()}, node ${process.version})
${report.join('\n')}
`);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
