/**
 * What the bench parts share: control-plane and bare servers as child processes on loopback (so the load generator
 * does not share their event loop), their clean-up, a small API client, and tenant and node set-up through the API.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { RegisteredNode } from '@meshgate/contracts';

export const BENCH_JWT_SECRET = 'bench-secret-bench-secret-bench-secret-xx';

/**
 * The env every bench server gets: the bench measures throughput, not the per-principal budgets (rate limits far
 * above the load), nodes never go offline during a run, quiet logs, a free metrics port.
 */
export const SERVER_ENV: Record<string, string> = {
  HOST: '127.0.0.1', LOG_LEVEL: 'warn', JWT_SECRET: BENCH_JWT_SECRET,
  AUTH_RATE_LIMIT: '100000', LOGIN_FAILURE_LIMIT: '100000', WRITE_RATE_LIMIT: '10000000', HEARTBEAT_RATE_LIMIT: '1000000',
  HEARTBEAT_INTERVAL_SECONDS: '3600', REGISTRATION: 'open', // a bench registers a user per tenant
  METRICS_PORT: '0', // the bench does not scrape; a free port keeps it from clashing with a running server's
};

export const freePort = () => new Promise<number>((resolve, reject) => {
  const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Child processes of the bench: all of them are killed when the bench ends, however it ends. */
const USER_HZ = 100; // the unit of /proc/<pid>/stat's CPU times on Linux

/** CPU seconds (user + system) a child process has used so far. */
export const cpuSeconds = (child: ChildProcess) => {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime + stime
};

export class Processes {
  private readonly children = new Set<ChildProcess>();

  constructor() {
    process.once('exit', () => this.killAll());
  }

  start(script: string, env: Record<string, string>): ChildProcess {
    const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []; // e.g. --cpu-prof
    const child = spawn(process.execPath, [...nodeArgs, join(__dirname, script)], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** SIGTERM (the server's graceful shutdown: a leader snapshots its views), SIGKILL if it takes over 30 s. */
  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  killAll(): void {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Polls `url` until it answers 2xx (or, with anyStatus, anything): the server is up. */
export async function waitFor(url: string, child: ChildProcess, options: { timeoutMs?: number; intervalMs?: number; anyStatus?: boolean } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before ${url} answered`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok || options.anyStatus) return;
    } catch { /* not up yet */ }
    await sleep(options.intervalMs ?? 100);
  }
  throw new Error(`${url} did not come up`);
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function api<T>(port: number, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new ApiError(res.status, `${method} ${path} → ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** A control plane on a free port; resolves once it answers /health/ready. */
export async function startControlPlane(procs: Processes, env: Record<string, string>): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = procs.start('../main.js', { ...SERVER_ENV, ...env, PORT: String(port) });
  await waitFor(`http://127.0.0.1:${port}/health/ready`, child);
  return { port, child };
}

/**
 * `count` replicas on one PostgreSQL database: the first migrates the schema alone, the others start together.
 * Each gets its own data directory under `dir` (unused on PostgreSQL, but resolved).
 */
export async function startReplicas(procs: Processes, count: number, databaseUrl: string, dir: string, env: Record<string, string> = {}) {
  const replicaEnv = (i: number) => ({ ...env, DATABASE_URL: databaseUrl, DATABASE_PATH: join(dir, `replica-${i}`, 'unused.sqlite') });
  const first = await startControlPlane(procs, replicaEnv(0));
  const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => startControlPlane(procs, replicaEnv(i + 1))));
  return [first, ...rest];
}

/** A user, a tenant and an admin token for it, through the API. */
export async function setupTenant(port: number): Promise<{ admin: string; tenantId: string }> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'bench-password';
  await api(port, 'POST', '/api/v1/auth/register', undefined, { email, password });
  const userLogin = await api<{ accessToken: string }>(port, 'POST', '/api/v1/auth/login', undefined, { email, password });
  const tenant = await api<{ id: string }>(port, 'POST', '/api/v1/auth/tenants', userLogin.accessToken, { name: 'bench' });
  const { accessToken } = await api<{ accessToken: string }>(port, 'POST', '/api/v1/auth/login', undefined, { email, password, tenantId: tenant.id });
  return { admin: accessToken, tenantId: tenant.id };
}

/** A WireGuard-shaped public key: 32 random bytes in base64 (what the API checks; no key pair is needed). */
export const randomPublicKey = () => randomBytes(32).toString('base64');

export interface RegistrationResult {
  nodes: RegisteredNode[];
  seconds: number;
  /** Registrations answered with a retryable status (409 on a lost race across replicas, 503) and sent again. */
  retries: number;
}

/**
 * Registers `count` nodes named `name(i)` through the API, `concurrency` at a time, request i going to
 * ports[i % ports.length]; a registration refused with 409 or 503 (a race lost to another replica) is sent again.
 */
export async function registerNodes(
  ports: readonly number[], admin: string, count: number, concurrency: number, name: (i: number) => string,
): Promise<RegistrationResult> {
  const nodes: RegisteredNode[] = new Array(count);
  let next = 0;
  let retries = 0;
  const started = Date.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const body = { name: name(i), publicKey: randomPublicKey(), endpoint: `198.18.${(i >> 8) & 255}.${i & 255}:51820` };
      for (let attempt = 1; ; attempt++) {
        try {
          nodes[i] = await api<RegisteredNode>(ports[i % ports.length], 'POST', '/api/v1/nodes', admin, body);
          break;
        } catch (error) {
          if (!(error instanceof ApiError && (error.status === 409 || error.status === 503)) || attempt >= 20) throw error;
          retries++;
          await sleep(5 * attempt);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { nodes, seconds: (Date.now() - started) / 1000, retries };
}

/** Waits until every replica lists `count` nodes (a replica learns another's registrations by NOTIFY and catch-up). */
export async function waitForNodes(ports: readonly number[], admin: string, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      const listed = await api<unknown[]>(port, 'GET', '/api/v1/nodes', admin);
      if (listed.length >= count) break;
      if (Date.now() > deadline) throw new Error(`replica on ${port} lists ${listed.length} of ${count} nodes`);
      await sleep(200);
    }
  }
}
