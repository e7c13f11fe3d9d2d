import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JWT_SECRET, TEST_LIMITS } from './server';
import { freePort } from '../../src/bench/servers';

/**
 * Control-plane replicas as child processes of the built server (`node dist/apps/control-plane/main.js`), all on one
 * PostgreSQL database, as a deployment behind a load balancer runs them. Each gets its own port, its own data dir
 * (nothing is written there on PostgreSQL, but the server resolves it) and `application_name=<name>` on its database
 * URL, so that `pg_stat_activity` tells which replica holds a session (the leadership's advisory lock, say).
 *
 * Run `npm run build` first: the replicas run from dist/.
 */
const ROOT = join(__dirname, '..', '..', '..', '..');
export const MAIN = join(ROOT, 'dist', 'apps', 'control-plane', 'main.js');

export interface Replica {
  readonly name: string;
  readonly baseUrl: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Resolves when the process has exited (with its code or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** False once the process has exited. */
  running(): boolean;
  /** What it wrote to stdout and stderr (the last 64 KiB), for a failing spec's message. */
  output(): string;
  /** kill -9: no shutdown hook runs, sockets and database sessions are cut by the kernel. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
// Whatever happens to the spec (a failure, a timeout, jest tearing the worker down), no replica outlives it.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});


/** `url` with `application_name` set (pg reads it from the query string). */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

export interface StartReplicaOptions {
  name: string;
  /** The shared PostgreSQL database, or null for a server on a SQLite file in its own data dir. */
  databaseUrl: string | null;
  /** More env for the replica (HEARTBEAT_INTERVAL_SECONDS, …); the test limits and JWT_SECRET are always set. */
  env?: Record<string, string>;
  /** How long to wait for /health/ready. */
  readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts one replica and resolves once it answers /health/ready with 200. */
export async function startReplica(options: StartReplicaOptions): Promise<Replica> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (error) {
      // The port may have been taken between choosing it and the replica binding it.
      if (attempt >= 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
    }
  }
}

async function startOnce(options: StartReplicaOptions, port: number): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), `meshgate-replica-${options.name}-`));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...TEST_LIMITS,
    JWT_SECRET,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: options.databaseUrl === null ? '' : withApplicationName(options.databaseUrl, options.name),
    DATABASE_PATH: join(dir, 'meshgate.sqlite'),
    ...options.env,
  };
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = { code, signal };
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
      resolve(exitedWith);
    });
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const replica: Replica = {
    name: options.name,
    baseUrl,
    port,
    process: child,
    exited,
    running: () => exitedWith === null,
    output: () => output,
    async kill() {
      if (exitedWith === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (exitedWith !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exitedWith !== null) {
      const { code, signal } = exitedWith as { code: number | null; signal: NodeJS.Signals | null };
      throw new Error(`replica ${options.name} exited (${signal ?? code}) before it was ready:\n${output}`);
    }
    try {
      const response = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.text();
      if (response.status === 200) return replica;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await replica.kill();
      throw new Error(`replica ${options.name} was not ready within ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`);
    }
    await sleep(50);
  }
}

/** Replicas a spec started, to be torn down together in afterAll whatever happened. */
export class Replicas {
  private readonly all: Replica[] = [];

  constructor(private readonly databaseUrl: string, private readonly env: Record<string, string> = {}) {}

  async start(name: string, env: Record<string, string> = {}): Promise<Replica> {
    const replica = await startReplica({ name, databaseUrl: this.databaseUrl, env: { ...this.env, ...env } });
    this.all.push(replica);
    return replica;
  }

  /** The replicas still running. */
  running(): Replica[] {
    return this.all.filter((r) => r.running());
  }

  /** Stops every replica still running (gracefully, SIGKILL after the grace). */
  async stopAll(graceMs = 10_000): Promise<void> {
    await Promise.all(this.all.map((r) => r.stop(graceMs)));
  }

  /** kill -9 of every replica still running. */
  async killAll(): Promise<void> {
    await Promise.all(this.all.map((r) => r.kill()));
  }
}
