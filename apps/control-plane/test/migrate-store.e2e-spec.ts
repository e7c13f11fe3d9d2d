import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';
import { replay } from '../src/replay';
import { Database } from '../src/storage/database.port';
import { PostgresDatabase } from '../src/storage/postgres/postgres-database';
import { SqliteDatabase } from '../src/storage/sqlite/sqlite-database';
import { createTestDatabase, dropTestDatabase, requirePostgres, uniqueDatabaseName } from './support/postgres';
import {
  ALLOW_ALL, client, createNode, login, putPolicy, setupTenant, startServer, TenantSession, TestServer,
} from './support/server';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'apps', 'control-plane', 'migrate-store.js');

interface Run { code: number; stdout: string; stderr: string }

/** The built CLI as a child process (`npm test` builds first; for a spec run alone, `npm run build`). */
function migrateStore(...args: string[]): Promise<Run> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The log as stored, one comparable row per event (the stream by name: refs are each store's own). */
async function logRows(db: Database): Promise<string[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT e.position, e.tenant_id, s.stream_id, e.stream_version, e.type, e.data, e.metadata, e.recorded_at, e.hash
     FROM events e JOIN streams s ON s.ref = e.stream_ref ORDER BY e.position`);
  return rows.map((r) => JSON.stringify({ ...r, hash: Buffer.from(r.hash as Buffer).toString('hex') }));
}

/** Everything a refused run must leave as it was. */
async function storeState(db: Database): Promise<Record<string, unknown>> {
  const count = async (table: string) => Number((await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!.n);
  const head = (await db.one<{ position: number; hash: Buffer }>('SELECT position, hash FROM chain_head WHERE id = 1'))!;
  return {
    head: [Number(head.position), Buffer.from(head.hash).toString('hex')],
    ...Object.fromEntries(await Promise.all(
      ['events', 'streams', 'projection_checkpoints', 'view_snapshots', 'users', 'tenants', 'node_identities', 'audit_log']
        .map(async (t) => [t, await count(t)]))),
    checkpoints: await db.query('SELECT name, position FROM projection_checkpoints ORDER BY name'),
  };
}

async function withDatabase<T>(open: () => Promise<Database>, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** What the API serves of a tenant: its nodes, each node's config, the policy, the audit log. */
async function served(server: TestServer, owner: TenantSession) {
  const api = client(server);
  const token = await login(server.baseUrl, owner.email, owner.tenantId);
  const nodes = await api('GET', '/api/v1/nodes', { token });
  expect(nodes.status).toBe(200);
  const ids = (nodes.body as { id: string }[]).map((n) => n.id).sort();
  const configs: Record<string, unknown> = {};
  for (const id of ids) {
    const config = await api('GET', `/api/v1/nodes/${id}/config`, { token });
    expect(config.status).toBe(200);
    configs[id] = config.body;
  }
  const byId = (list: { id: string }[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  return {
    nodes: byId(nodes.body),
    configs,
    policy: (await api('GET', '/api/v1/policies', { token })).body,
    audit: (await api('GET', '/api/v1/audit', { token })).body,
  };
}

describe('npm run migrate-store: a SQLite deployment moved to PostgreSQL', () => {
  const admin = requirePostgres();
  const databases: string[] = [];
  const dirs: string[] = [];
  let source: TestServer;
  let owners: TenantSession[];
  let before: Record<string, Awaited<ReturnType<typeof served>>>;
  let url: string;

  const freshPostgres = async (prefix: string) => {
    const name = uniqueDatabaseName(prefix);
    databases.push(name);
    return createTestDatabase(admin, name);
  };

  beforeAll(async () => {
    // A real deployment on SQLite: two tenants, nodes, policies, heartbeats (some that change something, many that
    // do not), a view snapshot every 100 events.
    source = await startServer({ SNAPSHOT_EVERY_EVENTS: '100', HEARTBEAT_INTERVAL_SECONDS: '3600' });
    const api = client(source);
    owners = [await setupTenant(source.baseUrl, 'acme'), await setupTenant(source.baseUrl, 'globex')];
    for (const [t, owner] of owners.entries()) {
      const nodes = [];
      for (let i = 0; i < 6; i++) {
        nodes.push(await createNode(source.baseUrl, owner.token, { name: `n${t}-${i}`, endpoint: `198.51.100.${10 * t + i}:51820` }));
      }
      for (const policy of t === 0 ? [ALLOW_ALL] : [{ acls: [] }, ALLOW_ALL]) expect((await putPolicy(source.baseUrl, owner.token, policy)).status).toBe(200);
      expect((await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true } })).status).toBe(201);
      for (let round = 0; round < 12; round++) {
        const beats = await Promise.all(nodes.map((n, i) => api('POST', `/api/v1/nodes/${n.id}/heartbeat`, {
          token: n.nodeToken,
          body: round % 5 === 0 ? { endpoint: `203.0.113.${10 * t + i}:${51820 + round}`, rxBytes: 1000 * round, txBytes: 2000 * round } : {},
        })));
        expect(beats.map((b) => b.status)).toEqual(nodes.map(() => 202));
      }
    }
    before = {};
    for (const owner of owners) before[owner.tenantId] = await served(source, owner);
    for (const owner of owners) expect(Object.values(before[owner.tenantId].configs).map((c) => (c as { peers: unknown[] }).peers.length)).toEqual([5, 5, 5, 5, 5, 5]);
    await source.stop();
    url = await freshPostgres('migrate_target');
  });

  afterAll(async () => {
    await source?.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    for (const name of databases) await dropTestDatabase(admin, name).catch(() => undefined);
  });

  it('copies the log, verifies it there, and prints progress and a summary', async () => {
    const run = await migrateStore('--from', source.databasePath, '--to', url, '--batch-size', '37');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/source hash chain intact from position 0 to \d+/);
    expect(run.stdout).toMatch(/copied \d+ of \d+ events \(100%\)/);
    expect(run.stdout).toMatch(/target hash chain intact .* head equal to the source's/);
    expect(run.stdout).toMatch(/inline projections identical to the source's/);
    expect(run.stdout).toMatch(/migrated \d+ events in \d+ streams from .* in [\d.]+ s \(copy [\d.]+ s, \d+ events\/s\)/);
    expect(run.stdout).not.toContain(new URL(url).password);
  });

  it('keeps positions, stream versions, data, times and hashes row by row, and the chain head', async () => {
    const [sqliteRows, sqliteState] = await withDatabase(() => SqliteDatabase.open(source.databasePath), async (db) => [await logRows(db), await storeState(db)]);
    const [postgresRows, postgresState] = await withDatabase(() => PostgresDatabase.open(url), async (db) => [await logRows(db), await storeState(db)]);
    expect(sqliteRows.length).toBeGreaterThan(150);
    expect(postgresRows).toEqual(sqliteRows);
    const s = sqliteState as Record<string, unknown>;
    const p = postgresState as Record<string, unknown>;
    expect(p.head).toEqual(s.head);
    expect(p.streams).toBe(s.streams);
    // The inline projections are rebuilt from the log; the view snapshots are not copied (the views replay at start).
    for (const table of ['users', 'tenants', 'node_identities', 'audit_log']) expect(p[table]).toBe(s[table]);
    expect(s.view_snapshots).toBeGreaterThan(0);
    expect(p.view_snapshots).toBe(0);
  });

  it('npm run replay --full verifies the chain and the read models on PostgreSQL', async () => {
    const lines: string[] = [];
    expect(await replay({ databasePath: '', databaseUrl: url }, { full: true }, (line) => lines.push(line))).toBe(true);
    expect(lines.join('\n')).toMatch(/hash chain intact from position 0/);
    expect(lines.join('\n')).toContain('read models identical');
  });

  it('a server on the PostgreSQL database lists the same nodes and serves the same configs, policy and audit log', async () => {
    const server = await startServer({ DATABASE_URL: url, HEARTBEAT_INTERVAL_SECONDS: '3600' });
    try {
      for (const owner of owners) expect(await served(server, owner)).toEqual(before[owner.tenantId]);
    } finally {
      await server.dispose();
    }
  });

  it('refuses a target that is not empty (exit 2) and changes nothing in it', async () => {
    const state = await withDatabase(() => PostgresDatabase.open(url), storeState);
    const run = await migrateStore('--from', source.databasePath, '--to', url);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is not empty \(rows in events, streams/);
    expect(run.stdout).not.toContain('copied');
    expect(await withDatabase(() => PostgresDatabase.open(url), storeState)).toEqual(state);
  });

  it('refuses a source whose hash chain does not verify (exit 2), before touching the target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-migrate-'));
    dirs.push(dir);
    const tampered = join(dir, 'tampered.sqlite');
    const original = new BetterSqlite3(source.databasePath, { readonly: true });
    try {
      original.exec(`VACUUM INTO '${tampered.replace(/'/g, "''")}'`);
    } finally {
      original.close();
    }
    const db = new BetterSqlite3(tampered);
    try {
      db.exec(`DROP TRIGGER events_no_update; UPDATE events SET data = '{"name":"mallory"}' WHERE position = 5`);
    } finally {
      db.close();
    }
    const target = await freshPostgres('migrate_refused');
    const run = await migrateStore('--from', tampered, '--to', target);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/hash chain does not verify \(broken at position 5\); nothing was copied/);
    const pg = new Client({ connectionString: target });
    await pg.connect();
    try {
      // Not even migrated: the source is verified before the target is opened.
      expect((await pg.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).rows).toEqual([]);
    } finally {
      await pg.end();
    }
  });

  it('refuses bad arguments and a missing source (exit 2)', async () => {
    expect((await migrateStore('--from', source.databasePath)).code).toBe(2);
    const missing = await migrateStore('--from', join(tmpdir(), 'no-such-dir', 'meshgate.sqlite'), '--to', url);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no SQLite file at');
    const same = await migrateStore('--from', source.databasePath, '--to', source.databasePath);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('the same store');
  });

  it('moves the PostgreSQL deployment back to a new SQLite file with the same code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-migrate-'));
    dirs.push(dir);
    const back = join(dir, 'back', 'meshgate.sqlite');
    const run = await migrateStore('--from', url, '--to', back);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await replay(back, { full: true }, () => undefined)).toBe(true);
    const postgresRows = await withDatabase(() => PostgresDatabase.open(url), logRows);
    expect(await withDatabase(() => SqliteDatabase.open(back), logRows)).toEqual(postgresRows);
  });
});
