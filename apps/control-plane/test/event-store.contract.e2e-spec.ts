import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Event, RecordedEvent } from '@meshgate/domain';
import { ConcurrencyError } from '../src/event-store/concurrency.error';
import { AppendRequest, CommitParticipant } from '../src/event-store/event-store.port';
import { SqlEventStore } from '../src/event-store/sql-event-store';
import { Database, Transaction } from '../src/storage/database.port';
import { PostgresDatabase } from '../src/storage/postgres/postgres-database';
import { createAppRole, createTestDatabase, dropTestDatabase, requirePostgres, uniqueDatabaseName } from './support/postgres';
import { freshStore, StoreUnderTest } from './support/stores';

jest.setTimeout(60_000);

const DIST = join(__dirname, '..', '..', '..', 'dist', 'apps', 'control-plane');

const actor = { kind: 'system' as const, id: 'contract' };
const request = (streamId: string, expectedVersion: number, ...events: Event[]): AppendRequest =>
  ({ tenantId: null, streams: [{ streamId, expectedVersion, events }], metadata: { actor } });
const event = (type: string, data: unknown = {}): Event => ({ type, data });

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

/** Writes a marker row per request inside its savepoint, and fails any request carrying a `Poison` event. */
class MarkingParticipant implements CommitParticipant {
  committed: RecordedEvent[] = [];
  async applyInTransaction(tx: Transaction, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events) {
      await tx.execute('INSERT INTO projection_checkpoints (name, position) VALUES (?, ?)', [`mark-${e.position}`, e.position]);
      if (e.type === 'Poison') throw new Error('projection failed');
      // A name claimed twice breaks a unique key: an error of the database itself (PostgreSQL aborts the transaction).
      if (e.type === 'Claim') await tx.execute('INSERT INTO projection_checkpoints (name, position) VALUES (?, ?)', [`claim-${(e.data as { name: string }).name}`, e.position]);
    }
  }
  async beforeCommit(): Promise<void> {}
  async afterCommit(events: readonly RecordedEvent[]): Promise<void> {
    this.committed.push(...events);
  }
}

describe.each(['sqlite', 'postgres'] as const)('the event store on %s', (kind) => {
  let store: StoreUnderTest;
  let db: Database;
  let log: SqlEventStore;

  beforeEach(async () => {
    store = await freshStore(kind);
    db = await store.open();
    log = new SqlEventStore(db);
  });
  afterEach(async () => {
    await db.close();
    await store.dispose();
  });

  it('assigns contiguous positions in order and reads streams and the log back as written', async () => {
    await log.append(request('a-1', 0, event('A', { n: 1 }), event('A', { n: 2 })));
    await Promise.all([log.append(request('b-1', 0, event('B'))), log.append(request('c-1', 0, event('C', { text: 'ü ✓' })))]);
    await log.append(request('a-1', 2, event('A', { n: 3 })));
    const all = await collect(log.readAll(0));
    expect(all.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
    expect((await log.readStream('a-1')).map((e) => [e.streamVersion, e.data])).toEqual([[1, { n: 1 }], [2, { n: 2 }], [3, { n: 3 }]]);
    expect(all.find((e) => e.type === 'C')!.data).toEqual({ text: 'ü ✓' });
    expect((await collect(log.readAll(3))).map((e) => e.position)).toEqual([4, 5]);
    expect(await log.head()).toEqual({ position: 5, hash: await log.hashAt(5) });
  });

  it('reads a log of many pages, compact heartbeats among other events, as stored, and again after a reader stopped early', async () => {
    const tenantId = randomUUID();
    const node = (id: string) => ({ actor: { kind: 'node' as const, id } });
    const seen = (n: number) => Array.from({ length: n }, () => event('NodeSeen'));
    let version = 0;
    const append = async (events: Event[], metadata: RecordedEvent['metadata'] = node('n1')) => {
      await log.append({ tenantId, streams: [{ streamId: 'node-n1', expectedVersion: version, events }], metadata });
      version += events.length;
    };
    await append([event('NodeRegistered', { name: 'n1' })], { actor });
    for (let round = 0; round < 3; round++) {
      await append(seen(700)); // compact
      await append([event('NodeHeartbeatRecorded', { rxBytes: round })]); // the node's own, with data
      await append(seen(2), { actor, correlationId: `c${round}` }); // NodeSeen with other metadata
    }
    await log.append(request('policy-t1', 0, event('PolicyUpdated', { version: 1 })));

    const all = await collect(log.readAll(0));
    const stored: RecordedEvent[] = [];
    for await (const page of log.readHashedPages(0)) for (const { hash: _hash, ...e } of page) stored.push(e);
    expect(all).toHaveLength(1 + 3 * 703 + 1);
    expect(all).toEqual(stored);
    expect(all.filter((e) => e.type === 'NodeHeartbeatRecorded').map((e) => e.data)).toEqual([{ rxBytes: 0 }, { rxBytes: 1 }, { rxBytes: 2 }]);
    expect(all[all.length - 2]).toMatchObject({ type: 'NodeSeen', tenantId, metadata: { actor, correlationId: 'c2' } });
    expect(all[all.length - 1]).toMatchObject({ type: 'PolicyUpdated', tenantId: null, streamId: 'policy-t1' });

    // More readers stopped early than the store has connections: none is kept from the others.
    for (let reader = 0; reader < 12; reader++) for await (const e of log.readAll(0)) if (e.position === 1200) break;
    expect((await collect(log.readAll(2000))).map((e) => e.position)).toEqual(all.slice(2000).map((e) => e.position));
  });

  it('reads every event committed before a read began, and events committed during it at most once, in order', async () => {
    const seen = (n: number) => Array.from({ length: n }, () => event('NodeSeen'));
    await log.append({ tenantId: null, streams: [{ streamId: 'node-n1', expectedVersion: 0, events: seen(2500) }], metadata: { actor } });
    const positions: number[] = [];
    for await (const e of log.readAll(0)) {
      positions.push(e.position);
      // Half-way through the read: 1,500 more, committed after it began.
      if (e.position === 1250) await log.append({ tenantId: null, streams: [{ streamId: 'node-n1', expectedVersion: 2500, events: seen(1500) }], metadata: { actor } });
    }
    expect(positions.length).toBeGreaterThanOrEqual(2500);
    expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => i + 1));
    // The rest is there for the next read, from where this one ended; the connections the reads used are healthy.
    const rest = await collect(log.readAll(positions.length));
    expect(rest.map((e) => e.position)).toEqual(Array.from({ length: 4000 - positions.length }, (_, i) => positions.length + i + 1));
    await log.append(request('a-1', 0, event('A')));
    expect((await collect(log.readAll(3999))).map((e) => e.type)).toEqual(['NodeSeen', 'A']);
  });

  it('refuses a stale expected version with a ConcurrencyError and appends nothing of that request', async () => {
    await log.append(request('s-1', 0, event('A')));
    const results = await Promise.allSettled([log.append(request('s-1', 1, event('B'))), log.append(request('s-1', 1, event('C')))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ConcurrencyError);
    expect((await log.readStream('s-1')).map((e) => e.streamVersion)).toEqual([1, 2]);
  });

  it('fails a request whose inline projection fails, alone: its neighbours in the batch commit, its writes are undone', async () => {
    const participant = new MarkingParticipant();
    log.setParticipant(participant);
    const results = await Promise.allSettled([
      log.append(request('n-1', 0, event('A'))),
      log.append(request('n-2', 0, event('Poison'))),
      log.append(request('n-3', 0, event('B'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const all = await collect(log.readAll(0));
    expect(all.map((e) => [e.position, e.type])).toEqual([[1, 'A'], [2, 'B']]);
    expect(participant.committed.map((e) => e.type)).toEqual(['A', 'B']);
    const marks = await db.query<{ name: string }>("SELECT name FROM projection_checkpoints WHERE name LIKE 'mark-%' ORDER BY name");
    expect(marks.map((m) => m.name)).toEqual(['mark-1', 'mark-2']);
    expect(await log.verifyChain()).toBeNull();
  });

  it('fails alone a request undone after it wrote (a later stream\'s conflict, a unique key), whatever else the batch holds', async () => {
    const participant = new MarkingParticipant();
    log.setParticipant(participant);
    await log.append(request('taken', 0, event('A')));
    const twoStreams: AppendRequest = {
      tenantId: null, metadata: { actor },
      streams: [{ streamId: 'm-1', expectedVersion: 0, events: [event('M1')] }, { streamId: 'taken', expectedVersion: 0, events: [event('M2')] }],
    };
    const results = await Promise.allSettled([
      log.append(request('c-1', 0, event('Claim', { name: 'x' }))),
      log.append(twoStreams),
      log.append(request('taken', 0, event('Stale'))),
      log.append(request('c-2', 0, event('Claim', { name: 'x' }))),
      log.append(request('c-3', 0, event('B'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    const all = await collect(log.readAll(0));
    expect(all.map((e) => [e.position, e.streamId, e.type])).toEqual([[1, 'taken', 'A'], [2, 'c-1', 'Claim'], [3, 'c-3', 'B']]);
    expect(await log.readStream('m-1')).toEqual([]);
    expect(participant.committed.map((e) => e.type)).toEqual(['A', 'Claim', 'B']);
    const marks = await db.query<{ name: string }>("SELECT name FROM projection_checkpoints WHERE name LIKE 'mark-%' OR name LIKE 'claim-%' ORDER BY name");
    expect(marks.map((m) => m.name)).toEqual(['claim-x', 'mark-1', 'mark-2', 'mark-3']);
    expect(await log.verifyChain()).toBeNull();
    // And the store goes on: the next batch is written as any other.
    expect((await log.append(request('m-1', 0, event('After'))))[0].position).toBe(4);
  });

  it('detects an altered, a removed and an appended-behind-its-back event in the hash chain', async () => {
    for (let i = 0; i < 5; i++) await log.append(request(`h-${i}`, 0, event('H', { i })));
    expect(await log.verifyChain()).toBeNull();
    const from = { position: 2, hash: (await log.hashAt(2))! };
    expect(await log.verifyChain(from)).toBeNull();
    if (kind === 'sqlite') {
      await store.superuser(`DROP TRIGGER events_no_update; UPDATE events SET data = '{"i":9}' WHERE position = 3`);
    } else {
      await store.superuser(`ALTER TABLE events DISABLE TRIGGER USER; UPDATE events SET data = '{"i":9}' WHERE position = 3`);
    }
    expect(await log.verifyChain()).toBe(3);
    expect(await log.verifyChain(from)).toBe(3);
  });

  it('refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) of the log whoever asks', async () => {
    await log.append(request('x-1', 0, event('X')));
    expect((await db.query('SELECT position FROM events')).length).toBe(1);
    if (kind === 'sqlite') {
      const triggers = await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events' ORDER BY name");
      expect(triggers.map((t) => t.name)).toEqual(['events_no_delete', 'events_no_update']);
    }
    await expect(store.superuser('UPDATE events SET type = \'Y\'')).rejects.toThrow(/append-only/);
    await expect(store.superuser('DELETE FROM events')).rejects.toThrow(/append-only/);
    if (kind === 'postgres') await expect(store.superuser('TRUNCATE events')).rejects.toThrow(/append-only/);
    expect(await collect(log.readAll(0))).toHaveLength(1);
  });

  it('loses no acknowledged event when the appending process is killed -9 mid-stream', async () => {
    // The built store (npm test builds first), appending one event per request, 8 requests in flight, printing each
    // position once its append has resolved — that is, once it was acknowledged.
    const child = spawn(process.execPath, ['-e', `
      const { SqlEventStore } = require(${JSON.stringify(join(DIST, 'event-store', 'sql-event-store.js'))});
      const { openDatabase } = require(${JSON.stringify(join(DIST, 'storage', 'open-database.js'))});
      (async () => {
        const db = await openDatabase({ databasePath: process.env.DATABASE_PATH, databaseUrl: process.env.DATABASE_URL, writeBusyWaitMs: 5000 });
        const log = new SqlEventStore(db);
        let i = 0;
        const worker = async () => {
          for (;;) {
            const n = i++;
            const [e] = await log.append({ tenantId: null, streams: [{ streamId: 'crash-' + n, expectedVersion: 0, events: [{ type: 'C', data: { n } }] }], metadata: { actor: { kind: 'system', id: 'crash' } } });
            process.stdout.write(e.position + '\\n');
          }
        };
        await Promise.all(Array.from({ length: 8 }, worker));
      })().catch((error) => { console.error(error); process.exit(1); });
    `], { env: { ...process.env, ...store.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: number[] = [];
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line) acknowledged.push(Number(line));
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => { if (acknowledged.length >= 200) { clearInterval(timer); resolve(); } }, 20);
      child.on('exit', (code) => { clearInterval(timer); reject(new Error(`appender exited (${code})`)); });
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    await db.close();
    db = await store.open();
    log = new SqlEventStore(db);
    const positions = new Set((await collect(log.readAll(0))).map((e) => e.position));
    for (const p of acknowledged) expect(positions.has(p)).toBe(true);
    expect(await log.verifyChain()).toBeNull();
    await log.append(request('after-crash', 0, event('A')));
    expect(await log.verifyChain()).toBeNull();
  });

  it('lets a second replica of the same store append to one chain and catch up by position', async () => {
    const otherDb = await store.open();
    const other = new SqlEventStore(otherDb);
    try {
      if (kind === 'sqlite') {
        // One process serves a SQLite file; a second connection still appends after the first, never beside it.
        await log.append(request('r-1', 0, event('A')));
        await other.append(request('r-2', 0, event('B')));
      } else {
        await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? log : other).append(request(`r-${i}`, 0, event('R', { i })))));
      }
      const all = await collect(other.readAll(0));
      expect(all.map((e) => e.position)).toEqual(all.map((_, i) => i + 1));
      expect(await log.verifyChain()).toBeNull();
      expect(await other.head()).toEqual(await log.head());
    } finally {
      await otherDb.close();
    }
  });
});

describe('PostgreSQL: replicas started at once on an empty database', () => {
  it('all migrate and open it: one runs the migrations, the others wait for it and find nothing pending', async () => {
    const admin = requirePostgres();
    const name = uniqueDatabaseName('together');
    const url = await createTestDatabase(admin, name);
    const opened = await Promise.allSettled([1, 2, 3].map(() => PostgresDatabase.open(url)));
    try {
      expect(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'opened'))).toEqual(['opened', 'opened', 'opened']);
      const [db] = opened.map((o) => (o as PromiseFulfilledResult<PostgresDatabase>).value);
      const log = new SqlEventStore(db);
      await log.append(request('together-1', 0, event('A')));
      expect((await collect(log.readAll(0))).map((e) => e.type)).toEqual(['A']);
    } finally {
      await Promise.all(opened.map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)));
      await dropTestDatabase(admin, name);
    }
  });
});

describe('PostgreSQL with an app role that does not own the schema', () => {
  it('migrates as the owner, appends and reads as the app role, and the app role cannot rewrite the log', async () => {
    const admin = requirePostgres();
    const name = uniqueDatabaseName('approle');
    await createTestDatabase(admin, name);
    const ownerUrl = await createAppRole(admin, name, `${name}_owner`, 'owner-password', { owner: true });
    const appUrl = await createAppRole(admin, name, `${name}_app`, 'app-password');
    const db = await PostgresDatabase.open(appUrl, { migrationUrl: ownerUrl });
    try {
      const log = new SqlEventStore(db);
      await log.append(request('role-1', 0, event('A')));
      await log.append(request('role-1', 1, event('B')));
      expect((await collect(log.readAll(0))).map((e) => e.type)).toEqual(['A', 'B']);
      await expect(db.execute("UPDATE events SET type = 'Z'")).rejects.toThrow(/permission denied/);
      await expect(db.execute('DELETE FROM events')).rejects.toThrow(/permission denied/);
      await expect(db.execute("UPDATE streams SET stream_id = 'x'")).rejects.toThrow(/permission denied/);
      expect(await log.verifyChain()).toBeNull();
      // Every read-model table is the app's to write, those of later migrations too (API keys, SSO identities, …).
      const tables = await db.query<{ name: string; insert: boolean; update: boolean; delete: boolean }>(
        `SELECT tablename AS name, has_table_privilege(tablename, 'INSERT') AS insert, has_table_privilege(tablename, 'UPDATE') AS update,
           has_table_privilege(tablename, 'DELETE') AS delete
         FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT IN ('events', 'streams', 'migrations')`);
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['users', 'api_keys', 'user_identities', 'user_groups', 'first_user']));
      expect(tables.filter((t) => !(t.insert && t.update && t.delete))).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
