import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegisteredNode } from '@meshgate/contracts';
import {
  ALLOW_ALL, client, countEvents, createNode, login, putPolicy, setupTenant, startServer, StoreKind, TenantSession, TestServer,
} from './support/server';
import { createTestDatabase, dropTestDatabase, findPostgresBin, requirePostgres, uniqueDatabaseName } from './support/postgres';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..', '..');
const DIST = join(ROOT, 'dist', 'apps', 'control-plane');

interface Run {
  code: number;
  output: string;
}

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }));
  });
}

/** `npm run replay -- --full` on a store: verifies the chain from 0 and the read models; returns the head position. */
async function replayFull(storeEnv: Record<string, string>): Promise<number> {
  const result = await run(process.execPath, [join(DIST, 'replay.js'), '--full'], storeEnv);
  expect(result).toMatchObject({ code: 0, output: expect.stringContaining('read models identical') });
  return Number(/hash chain intact from position 0 to (\d+)/.exec(result.output)![1]);
}

/** Heartbeats sent one after another until `stop()`: the server is busy writing while it is backed up. */
function keepWriting(server: TestServer, node: RegisteredNode): { stop(): Promise<number> } {
  let stopped = false;
  let sent = 0;
  const loop = (async () => {
    while (!stopped) {
      const reply = await client(server)('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body: { rxBytes: sent * 1_000_000 } });
      if (reply.status !== 202) throw new Error(`heartbeat answered ${reply.status} ${reply.text}`);
      sent++;
    }
  })();
  return { stop: async () => ((stopped = true), await loop, sent) };
}

/** What a restore must bring back: the tenant's nodes and its policy. */
async function readState(server: TestServer, owner: TenantSession): Promise<{ nodes: string[]; policy: unknown }> {
  const token = await login(server.baseUrl, owner.email, owner.tenantId);
  const api = client(server);
  const nodes = await api('GET', '/api/v1/nodes', { token });
  const policy = await api('GET', '/api/v1/policies', { token });
  expect([nodes.status, policy.status]).toEqual([200, 200]);
  return { nodes: (nodes.body as { name: string }[]).map((n) => n.name).sort(), policy: policy.body };
}

describe.each<StoreKind>(['sqlite', 'postgres'])('backup while the server runs, restore into a new store, on %s', (store) => {
  let server: TestServer;
  let owner: TenantSession;
  let node: RegisteredNode;
  let dir: string;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-backup-'));
    server = await startServer({}, { store });
    owner = await setupTenant(server.baseUrl, 'backup');
    node = await createNode(server.baseUrl, owner.token, { name: 'web-1' });
    await createNode(server.baseUrl, owner.token, { name: 'db-1' });
    expect((await putPolicy(server.baseUrl, owner.token, ALLOW_ALL)).status).toBe(200);
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores a consistent copy: replay verifies its chain, a server on it has the data', async () => {
    const writer = keepWriting(server, node);
    let restored: Record<string, string>;
    let copiedHead: number | null = null;
    try {
      if (store === 'sqlite') {
        const file = join(dir, 'meshgate-backup.sqlite');
        const backup = await run(process.execPath, [join(DIST, 'backup.js'), '--to', file], { DATABASE_PATH: server.databasePath });
        expect(backup.code).toBe(0);
        copiedHead = Number(/log head at position (\d+)/.exec(backup.output)![1]);
        expect(statSync(file).mode & 0o077).toBe(0);
        // Restore: the copy becomes the database of a new data directory.
        const dataDir = mkdtempSync(join(tmpdir(), 'meshgate-restored-'));
        cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
        copyFileSync(file, join(dataDir, 'meshgate.sqlite'));
        restored = { DATABASE_PATH: join(dataDir, 'meshgate.sqlite') };
      } else {
        const bin = findPostgresBin();
        const tool = (name: string) => (bin && existsSync(join(bin, name)) ? join(bin, name) : name);
        const file = join(dir, 'meshgate.dump');
        const dump = await run(tool('pg_dump'), ['--format=custom', `--file=${file}`, `--dbname=${server.databaseUrl}`]);
        expect(dump).toEqual({ code: 0, output: '' });
        const name = uniqueDatabaseName('restored');
        const url = await createTestDatabase(requirePostgres(), name);
        cleanups.push(() => dropTestDatabase(requirePostgres(), name));
        const load = await run(tool('pg_restore'), ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${url}`, file]);
        expect(load).toEqual({ code: 0, output: '' });
        restored = { DATABASE_URL: url };
      }
    } finally {
      expect(await writer.stop()).toBeGreaterThan(0);
    }
    const head = await replayFull(restored);
    if (copiedHead !== null) expect(head).toBe(copiedHead);
    // The live log went on past the copy; the copy holds a prefix of it.
    expect(head).toBeLessThanOrEqual(await countEvents(server));

    const original = await readState(server, owner);
    const again = await startServer(restored.DATABASE_URL ? { DATABASE_URL: restored.DATABASE_URL } : { DATABASE_PATH: restored.DATABASE_PATH });
    cleanups.push(() => again.dispose());
    expect(await readState(again, owner)).toEqual(original);
    expect(original.nodes).toEqual(['db-1', 'web-1']);
    // The restored server takes writes where the copy ended, and its chain still verifies.
    const heartbeat = await client(again)('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body: { rxBytes: 1 } });
    expect(heartbeat.status).toBe(202);
    await again.stop();
    expect(await replayFull(restored)).toBeGreaterThan(head);
  });

  if (store === 'sqlite') {
    it('refuses to overwrite a file, and a PostgreSQL store, with exit code 2', async () => {
      const file = join(dir, 'taken.sqlite');
      copyFileSync(server.databasePath, file);
      const before = statSync(file).mtimeMs;
      const taken = await run(process.execPath, [join(DIST, 'backup.js'), '--to', file], { DATABASE_PATH: server.databasePath });
      expect(taken).toMatchObject({ code: 2, output: expect.stringContaining('exists: back up to a new file') });
      expect(statSync(file).mtimeMs).toBe(before);
      const pg = await run(process.execPath, [join(DIST, 'backup.js'), '--to', join(dir, 'pg.sqlite')], { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' });
      expect(pg).toMatchObject({ code: 2, output: expect.stringContaining('pg_dump') });
      expect(existsSync(join(dir, 'pg.sqlite'))).toBe(false);
      const usage = await run(process.execPath, [join(DIST, 'backup.js')], { DATABASE_PATH: server.databasePath });
      expect(usage).toMatchObject({ code: 2, output: expect.stringContaining('usage: npm run backup -- --to FILE') });
    });
  }
});
