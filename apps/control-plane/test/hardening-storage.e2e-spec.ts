import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { replay } from '../src/replay';
import { client, createNode, eventCount, Reply, setupTenant, startServer, TenantSession, TestServer, wgKey } from './support/server';

jest.setTimeout(60_000);

/** Another process that takes SQLite's write lock (BEGIN IMMEDIATE) and holds it for `ms`. */
async function holdWriteLock(databasePath: string, ms: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `
    const db = new (require('better-sqlite3'))(${JSON.stringify(databasePath)});
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); process.exit(0); }, ${ms});
  `], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('locked')) resolve(); });
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', () => resolve())));

async function heartbeatsOf(server: TestServer, nodes: { id: string; nodeToken: string }[]) {
  const api = client(server);
  return Promise.all(nodes.map((n) => api('POST', `/api/v1/nodes/${n.id}/heartbeat`, { token: n.nodeToken, body: { rxBytes: 1, txBytes: 2 } })));
}

describe('a projection failure fails its own request, never its group-commit batch', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer(); });
  afterAll(async () => { await server.dispose(); });

  it('fails the poisoned registration alone while heartbeats, registrations and keys of other tenants in its batch commit', async () => {
    const api = client(server);
    const victim = await setupTenant(server.baseUrl, 'victim');
    const others = await setupTenant(server.baseUrl, 'others');
    const neighbours = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => createNode(server.baseUrl, others.token, { name: `n${i}` })));

    // A fault in an inline projection's write for one request only, injected in the database itself.
    const db = new Database(server.databasePath);
    db.exec(`CREATE TRIGGER poison_row BEFORE INSERT ON node_identities WHEN NEW.name LIKE 'poison%'
             BEGIN SELECT RAISE(ABORT, 'injected projection fault'); END`);
    try {
      const before = eventCount(server.databasePath);
      for (let round = 0; round < 5; round++) {
        const [poisoned, ...rest] = await Promise.all([
          api('POST', '/api/v1/nodes', { token: victim.token, body: { name: `poison-${round}`, publicKey: wgKey() } }),
          ...neighbours.map((n) => api('POST', `/api/v1/nodes/${n.id}/heartbeat`, { token: n.nodeToken, body: {} })),
          api('POST', '/api/v1/nodes', { token: others.token, body: { name: `joined-${round}`, publicKey: wgKey() } }),
          api('POST', '/api/v1/enrollment-keys', { token: others.token, body: { reusable: false } }),
        ]);
        expect(poisoned.status).toBe(500);
        expect(rest.map((r) => r.status)).toEqual([...neighbours.map(() => 202), 201, 201]);
      }
      // 5 rounds × (6 heartbeats + registration + key): the poisoned registrations added nothing.
      const victimEvents = db.prepare('SELECT COUNT(*) AS n FROM events WHERE tenant_id = ? AND type = ?').get(victim.tenantId, 'NodeRegistered') as { n: number };
      expect(victimEvents.n).toBe(0);
      expect(eventCount(server.databasePath)).toBe(before + 5 * 8);
    } finally {
      db.exec('DROP TRIGGER poison_row');
      db.close();
    }
    // Nothing of the failed requests is left anywhere: the name is free, the views list what was committed.
    expect((await api('POST', '/api/v1/nodes', { token: victim.token, body: { name: 'poison-0', publicKey: wgKey() } })).status).toBe(201);
    expect((await api('GET', '/api/v1/nodes', { token: victim.token })).body).toHaveLength(1);
    expect((await api('GET', '/api/v1/nodes', { token: others.token })).body).toHaveLength(11);
    await server.stop();
    const lines: string[] = [];
    const ok = await replay(server.databasePath, { full: true }, (l) => lines.push(l));
    expect(lines.join('\n')).toContain('read models identical');
    expect(ok).toBe(true);
  });
});

describe('a write lock held by another process', () => {
  let server: TestServer;
  let owner: TenantSession;
  let bystander: TenantSession;
  let node: { id: string; nodeToken: string };
  beforeAll(async () => {
    server = await startServer({ WRITE_BUSY_TIMEOUT_MS: '1500' });
    owner = await setupTenant(server.baseUrl, 'locked-out');
    bystander = await setupTenant(server.baseUrl, 'bystander');
    node = await createNode(server.baseUrl, owner.token, { name: 'waiter' });
  });
  afterAll(async () => { await server.dispose(); });

  it('makes writes wait for it (bounded) instead of failing at once', async () => {
    const holder = await holdWriteLock(server.databasePath, 600);
    const started = Date.now();
    const [beat] = await heartbeatsOf(server, [node]);
    expect(beat.status).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    await exited(holder);
  });

  it('answers 503 with Retry-After beyond the bound, appends nothing, keeps reads serving, and writes resume after it', async () => {
    const before = eventCount(server.databasePath);
    const holder = await holdWriteLock(server.databasePath, 4000);
    try {
      const api = client(server);
      const [beats, list] = await Promise.all([
        heartbeatsOf(server, [node, node]),
        api('GET', '/api/v1/nodes', { token: bystander.token }),
      ]);
      for (const beat of beats) {
        expect(beat.status).toBe(503);
        expect(beat.headers.get('retry-after')).toBe('1');
        expect(beat.body.code).toBe('DATABASE_BUSY');
      }
      expect(list.status).toBe(200);
    } finally {
      await exited(holder);
    }
    expect(eventCount(server.databasePath)).toBe(before);
    const created = await createNode(server.baseUrl, bystander.token, { name: 'after-the-lock' });
    expect(created.id).toBeDefined();
    expect((await heartbeatsOf(server, [node]))[0].status).toBe(202);
  });
});

describe('a full disk', () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'meshgate-full-'));
  const databasePath = join(mountPoint, 'data', 'meshgate.sqlite');
  const filler = join(mountPoint, 'filler');
  let server: TestServer;
  let mounted = false;

  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    mounted = true;
    mkdirSync(join(mountPoint, 'data'));
    server = await startServer({ DATABASE_PATH: databasePath, MIN_FREE_DISK_BYTES: String(256 * 1024) });
  });
  afterAll(async () => {
    try {
      await server?.dispose();
    } finally {
      if (mounted) execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('answers 503 STORAGE_FULL, reports it in readiness (not liveness), keeps the log intact, and recovers', async () => {
    const api = client(server);
    const owner = await setupTenant(server.baseUrl, 'full-disk');
    const bystander = await setupTenant(server.baseUrl, 'other-tenant');
    expect((await api('GET', '/health/ready')).status).toBe(200);

    const fd = openSync(filler, 'w');
    try {
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }

    // SQLite may still reuse space inside its WAL for a while; keep writing until the disk refuses one.
    let refused: Reply | undefined;
    for (let i = 0; i < 500 && !refused; i++) {
      const before = eventCount(databasePath);
      const reply = await api('POST', '/api/v1/nodes', { token: owner.token, body: { name: `n-${i}-${'x'.repeat(40)}`, publicKey: wgKey() } });
      if (reply.status === 503) {
        refused = reply;
        expect(eventCount(databasePath)).toBe(before);
      } else {
        expect(reply.status).toBe(201);
      }
    }
    expect(refused).toBeDefined();
    expect(refused!.body.code).toBe('STORAGE_FULL');
    expect(refused!.headers.get('retry-after')).toBeTruthy();

    const ready = await api('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('full');
    expect((await api('GET', '/health')).status).toBe(503);
    expect((await api('GET', '/health/live')).status).toBe(200);
    expect((await api('GET', '/api/v1/nodes', { token: bystander.token })).status).toBe(200);

    rmSync(filler);
    const created = await createNode(server.baseUrl, bystander.token, { name: 'after-space-freed' });
    expect(created.id).toBeDefined();
    expect((await api('GET', '/health/ready')).status).toBe(200);
    await server.stop();
    expect(await replay(databasePath, { full: true }, () => undefined)).toBe(true);
  });
});
