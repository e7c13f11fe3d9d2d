import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LoginResponse, RegisteredNode } from '@meshgate/contracts';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { Client } from 'pg';
import { MetricsListener } from '../../src/metrics/metrics-listener';
import { createTestDatabase, dropTestDatabase, requirePostgres, uniqueDatabaseName } from './postgres';

export type StoreKind = 'sqlite' | 'postgres';

/**
 * A real control plane on an ephemeral port with a fresh store: by default its own SQLite file in a fresh temp dir;
 * with `{ store: 'postgres' }` a fresh PostgreSQL database (DATABASE_URL, which overrides the SQLite file).
 */
export interface TestServer {
  app: NestFastifyApplication;
  baseUrl: string;
  /** The metrics listener (its own ephemeral port, as METRICS_PORT=0 asks). */
  metricsUrl: string;
  dir: string;
  /** The SQLite file (unused, though still resolved, on PostgreSQL). */
  databasePath: string;
  store: StoreKind;
  /** The PostgreSQL database's URL (null on SQLite). */
  databaseUrl: string | null;
  /** What names the store for another process on it (`npm run replay`, a second replica): DATABASE_PATH or DATABASE_URL. */
  storeEnv: Record<string, string>;
  env: NodeJS.ProcessEnv;
  /** Closes the app, keeping the data dir (for restart or replay). */
  stop(): Promise<void>;
  /** Starts a new app on the same database file (new port). */
  restart(): Promise<void>;
  /** Closes the app (if running) and deletes the data dir (and the PostgreSQL database). */
  dispose(): Promise<void>;
}

export const JWT_SECRET = 'e2e-secret-0123456789-abcdefghij-KLMNOPQR'; // 40 characters

/**
 * Budgets far above what any spec sends (hardening-limits sets them low to test them), quiet logs and an ephemeral
 * metrics port: the env every test server and replica gets.
 */
export const TEST_LIMITS: Record<string, string> = {
  AUTH_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  WRITE_RATE_LIMIT: '1000000',
  HEARTBEAT_RATE_LIMIT: '1000000',
  SSE_STREAMS_PER_NODE: '1000',
  LOG_LEVEL: 'error',
  METRICS_PORT: '0',
  // Specs register many users; registration by invitation (the default) is tested in identity-access.
  REGISTRATION: 'open',
};

export async function startServer(overrides: Record<string, string> = {}, options: { store?: StoreKind } = {}): Promise<TestServer> {
  const store = options.store ?? 'sqlite';
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-e2e-'));
  const databasePath = join(dir, 'meshgate.sqlite');
  let databaseName: string | null = null;
  let databaseUrl: string | null = null;
  if (store === 'postgres') {
    try {
      databaseName = uniqueDatabaseName('e2e');
      databaseUrl = await createTestDatabase(requirePostgres(), databaseName);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  const storeEnv: Record<string, string> = databaseUrl ? { DATABASE_URL: databaseUrl } : { DATABASE_PATH: databasePath };
  const env: NodeJS.ProcessEnv = {
    DATABASE_PATH: databasePath,
    ...storeEnv,
    JWT_SECRET,
    ...TEST_LIMITS,
    ...overrides,
  };
  const removeStore = async () => {
    rmSync(dir, { recursive: true, force: true });
    if (databaseName) await dropTestDatabase(requirePostgres(), databaseName);
  };
  let app: NestFastifyApplication | null = null;
  const server: TestServer = {
    app: null as unknown as NestFastifyApplication,
    baseUrl: '',
    metricsUrl: '',
    dir,
    databasePath,
    store,
    databaseUrl,
    storeEnv,
    env,
    async stop() {
      if (app) {
        const closing = app;
        app = null;
        await closing.close();
      }
    },
    async restart() {
      await server.stop();
      await listen();
    },
    async dispose() {
      try {
        await server.stop();
      } finally {
        await removeStore();
      }
    },
  };
  const listen = async () => {
    app = await createApp(loadConfig(env));
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (!address || typeof address === 'string') throw new Error('no TCP address');
    server.app = app;
    server.baseUrl = `http://127.0.0.1:${address.port}`;
    server.metricsUrl = app.get(MetricsListener).url();
  };
  try {
    await listen();
  } catch (error) {
    await removeStore().catch(() => undefined);
    throw error;
  }
  return server;
}

export interface Reply<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  /** Serialised as JSON unless `raw` is given. */
  body?: unknown;
  /** Sent as is (with content-type application/json unless headers override it). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

/** One HTTP request with fetch; the body is parsed as JSON when it is JSON. */
export async function request<T = any>(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const response = await fetch(baseUrl + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('application/json') && text !== '') parsed = JSON.parse(text);
  return { status: response.status, body: parsed as T, text, headers: response.headers };
}

/** `request` bound to a server. */
export const client = (server: { baseUrl: string }) =>
  <T = any>(method: string, path: string, options?: RequestOptions) => request<T>(server.baseUrl, method, path, options);

/** A fresh WireGuard public key (X25519, standard base64 with padding). */
export function wgKey(): string {
  const { publicKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

let userSeq = 0;
export const PASSWORD = 'correct horse battery staple';

export interface TenantSession {
  email: string;
  userId: string;
  userToken: string;
  tenantId: string;
  tenantName: string;
  /** A token scoped to the tenant (role owner). */
  token: string;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${process.pid}-${++userSeq}-${Date.now()}@example.com`;
}

export async function login(baseUrl: string, email: string, tenantId?: string): Promise<string> {
  const reply = await request<LoginResponse>(baseUrl, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD, tenantId } });
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
  return reply.body.accessToken;
}

/** Register a user, create a tenant, and log in scoped to it (the creator is owner). */
export async function setupTenant(baseUrl: string, name = 'acme', email = uniqueEmail()): Promise<TenantSession> {
  const registered = await request(baseUrl, 'POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const userToken = await login(baseUrl, email);
  const tenant = await request(baseUrl, 'POST', '/api/v1/auth/tenants', { token: userToken, body: { name } });
  if (tenant.status !== 201) throw new Error(`create tenant failed: ${tenant.status} ${tenant.text}`);
  const token = await login(baseUrl, email, tenant.body.id);
  return { email, userId: registered.body.id, userToken, tenantId: tenant.body.id, tenantName: name, token };
}

/** Register a user and add it to the session's tenant with a role; returns a token scoped to that tenant. */
export async function addMember(baseUrl: string, owner: TenantSession, role: 'owner' | 'admin' | 'member' | 'auditor'): Promise<string> {
  const email = uniqueEmail(role);
  const registered = await request(baseUrl, 'POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const added = await request(baseUrl, 'POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role } });
  if (added.status !== 202) throw new Error(`add member failed: ${added.status} ${added.text}`);
  return login(baseUrl, email, owner.tenantId);
}

let nodeSeq = 0;
export async function createNode(
  baseUrl: string, token: string, fields: { name?: string; tags?: string[]; endpoint?: string; listenPort?: number } = {},
): Promise<RegisteredNode> {
  const reply = await request<RegisteredNode>(baseUrl, 'POST', '/api/v1/nodes', {
    token, body: { name: fields.name ?? `node-${++nodeSeq}`, publicKey: wgKey(), ...fields },
  });
  if (reply.status !== 201) throw new Error(`create node failed: ${reply.status} ${reply.text}`);
  return reply.body;
}

export async function putPolicy(baseUrl: string, token: string, policy: unknown, ifMatch?: number): Promise<Reply> {
  return request(baseUrl, 'PUT', '/api/v1/policies', {
    token, body: policy, headers: ifMatch === undefined ? {} : { 'if-match': `"${ifMatch}"` },
  });
}

export const ALLOW_ALL = { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] };

/**
 * `tagOwners` letting tenant owners and admins put these tags (bare names, as specs write them) on nodes: since
 * issue 12 a tag must be declared and owned before anyone may put it on a node, and before a policy may name it.
 */
export const tagOwners = (...tags: string[]): Record<string, string[]> =>
  Object.fromEntries(tags.map((t) => [t.startsWith('tag:') ? t : `tag:${t}`, ['autogroup:owner', 'autogroup:admin']]));

/** Events in the log, read straight from the SQLite file (read-only connection). */
export function eventCount(databasePath: string): number {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * Events in the log of a test server's store, whichever it is: read straight from the SQLite file (read-only
 * connection, as `eventCount`), or from PostgreSQL with a connection of its own — never through the server.
 */
export async function countEvents(server: Pick<TestServer, 'databasePath' | 'databaseUrl'>): Promise<number> {
  if (!server.databaseUrl) return eventCount(server.databasePath);
  const pg = new Client({ connectionString: server.databaseUrl });
  await pg.connect();
  try {
    return Number((await pg.query<{ n: string }>('SELECT COUNT(*) AS n FROM events')).rows[0].n);
  } finally {
    await pg.end();
  }
}

/** Every heartbeat's event: what changed (`NodeHeartbeatRecorded`) or nothing material (`NodeSeen`). */
export const HEARTBEAT_EVENTS = ['NodeHeartbeatRecorded', 'NodeSeen'];

/** Rows of the events table of one type or several, in log order (read-only). */
export function eventsOfType(databasePath: string, types: string | string[]): { stream_id: string; data: string; metadata: string }[] {
  const list = typeof types === 'string' ? [types] : types;
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT stream_id, data, metadata FROM events JOIN streams ON streams.ref = events.stream_ref
      WHERE type IN (${list.map(() => '?').join(', ')}) ORDER BY position`).all(...list) as never;
  } finally {
    db.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
