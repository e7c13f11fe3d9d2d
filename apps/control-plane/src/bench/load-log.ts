/**
 * A large log, fast, for bench part (g). The first part goes through the real append path (SqlEventStore with the
 * server's inline projections): one tenant with an allow-all policy, `nodes` nodes registered, and each node's first
 * heartbeat (coming online). The bulk — steady-state heartbeats, `NodeSeen` — is then written as rows directly, in
 * large transactions of multi-row INSERTs: exactly the rows SqlEventStore writes for a heartbeat whose metadata is
 * only its actor (what the heartbeat handler appends) — the same layout (event-codec.ts), the same chain hash
 * (hash-chain.ts), the chain head and the inline projections' checkpoints moved with them as the store does, under
 * the same chain-head row lock. Through the append path itself a 10M-event log takes too long to build on a small
 * machine (every append is its own savepoint and statements: ~10k events/s). `npm run replay -- --full`
 * recomputes every hash, so a row that differed from what the store writes would show as a broken chain.
 *
 * Times are synthetic: every node heartbeats every `intervalMs`, the last one now.
 */
import { randomUUID } from 'node:crypto';
import { streams } from '@meshgate/domain';
import type { Event } from '@meshgate/domain';
import { encodeMetadata } from '../event-store/event-codec';
import { chainHash } from '../event-store/hash-chain';
import { SqlEventStore } from '../event-store/sql-event-store';
import { InlineProjections } from '../projections/inline-projections';
import { ProjectionRunner } from '../projections/projection-runner';
import { ViewFeeder } from '../projections/view-feeder';
import { ViewSnapshots } from '../projections/view-snapshots';
import { freshViews, inlineProjections } from '../replay';
import { Database } from '../storage/database.port';
import { randomPublicKey } from './servers';

export interface SeededLog {
  tenantId: string;
  nodes: { id: string; streamId: string; ref: number; version: number }[];
}

/** The tenant, its policy, `nodes` registrations and their first heartbeats, through SqlEventStore. */
export async function seedLog(db: Database, nodes: number): Promise<SeededLog> {
  const store = new SqlEventStore(db);
  await new ProjectionRunner(db, store, new InlineProjections(db, store, inlineProjections()), new ViewFeeder(store, freshViews(), []),
    new ViewSnapshots(db, store)).start();
  const tenantId = randomUUID();
  const system = { actor: { kind: 'system' as const, id: 'bench' } };
  await store.append({ tenantId, streams: [{ streamId: streams.policy(tenantId), expectedVersion: 0, events: [{ type: 'PolicyUpdated', data: {
    tenantId, version: 1, policy: { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] } } }] }], metadata: system });
  const ids = Array.from({ length: nodes }, () => randomUUID());
  const inParallel = async (fn: (i: number) => Promise<unknown>) => {
    for (let from = 0; from < nodes; from += 500) await Promise.all(ids.slice(from, from + 500).map((_, k) => fn(from + k)));
  };
  await inParallel((i) => store.append({ tenantId, streams: [{ streamId: streams.node(ids[i]), expectedVersion: 0, events: [{ type: 'NodeRegistered', data: {
    nodeId: ids[i], tenantId, name: `n${String(i).padStart(5, '0')}`, publicKey: randomPublicKey(),
    address: `100.${64 + ((i + 1) >> 16)}.${((i + 1) >> 8) & 255}.${(i + 1) & 255}`, endpoint: `198.18.${(i >> 8) & 255}.${i & 255}:51820`,
    listenPort: 51820, tags: [], tokenHash: '0'.repeat(64), enrollmentKeyId: null } } as Event] }], metadata: system }));
  // Coming online is material: the first heartbeat records the node's counters.
  await inParallel((i) => store.append({ tenantId, streams: [{ streamId: streams.node(ids[i]), expectedVersion: 1, events: [{
    type: 'NodeHeartbeatRecorded', data: { rxBytes: 1_000_000 + i, txBytes: 2_000_000 + i } }] }], metadata: { actor: { kind: 'node', id: ids[i] } } }));
  const refs = new Map((await db.query<{ ref: number; stream_id: string }>('SELECT ref, stream_id FROM streams')).map((r) => [r.stream_id, r.ref]));
  return { tenantId, nodes: ids.map((id) => ({ id, streamId: streams.node(id), ref: refs.get(streams.node(id))!, version: 2 })) };
}

export interface BulkOptions {
  /** How often each node heartbeats (synthetic times). */
  intervalMs?: number;
  rowsPerStatement?: number;
  rowsPerTransaction?: number;
}

const COLUMNS = '(position, tenant_id, stream_ref, stream_version, type, data, metadata, recorded_at, hash)';

/**
 * Appends `count` NodeSeen events, the nodes in turn, continuing the chain from the head. Returns the seconds it took.
 * The log must be the one `seedLog` made (node versions are read back from it), with nobody else writing to it.
 */
export async function appendNodeSeen(db: Database, seeded: SeededLog, count: number, options: BulkOptions = {}): Promise<number> {
  const started = Date.now();
  const intervalMs = options.intervalMs ?? 30_000;
  const perStatement = options.rowsPerStatement ?? 1000;
  const perTransaction = options.rowsPerTransaction ?? 100_000;
  const { nodes, tenantId } = seeded;
  for (const node of nodes) {
    node.version = (await db.one<{ v: number }>('SELECT MAX(stream_version) AS v FROM events WHERE stream_ref = ?', [node.ref]))!.v;
  }
  const checkpoints = new InlineProjections(db, new SqlEventStore(db), inlineProjections());
  const spacingMs = intervalMs / nodes.length;
  const firstAt = Date.now() - count * spacingMs;
  const data = JSON.stringify({});
  const statement = (rows: number) => `INSERT INTO events ${COLUMNS} VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`;
  const full = statement(perStatement);
  let written = 0;
  let turn = 0;
  while (written < count) {
    const inTransaction = Math.min(perTransaction, count - written);
    await db.transaction(async (tx) => {
      const head = (await tx.one<{ position: number; hash: Buffer | string }>('UPDATE chain_head SET position = position WHERE id = 1 RETURNING position, hash'))!;
      let position = head.position;
      let hash = typeof head.hash === 'string' ? head.hash : Buffer.from(head.hash).toString('hex');
      for (let done = 0; done < inTransaction; ) {
        const rows = Math.min(perStatement, inTransaction - done);
        const params: unknown[] = [];
        for (let k = 0; k < rows; k++) {
          const node = nodes[turn++ % nodes.length];
          const at = new Date(Math.round(firstAt + (written + done + k) * spacingMs));
          const metadata = { actor: { kind: 'node' as const, id: node.id } };
          const recorded = {
            position: ++position, tenantId, streamId: node.streamId, streamVersion: ++node.version, type: 'NodeSeen', data: {},
            metadata, recordedAt: at.toISOString(),
          };
          hash = chainHash(hash, recorded);
          params.push(recorded.position, tenantId, node.ref, recorded.streamVersion, 'NodeSeen', data, encodeMetadata(node.streamId, metadata),
            at.getTime(), Buffer.from(hash, 'hex'));
        }
        await tx.execute(rows === perStatement ? full : statement(rows), params);
        done += rows;
      }
      await tx.execute('UPDATE chain_head SET position = ?, hash = ? WHERE id = 1', [position, Buffer.from(hash, 'hex')]);
      await checkpoints.writeCheckpoints(tx, position);
    });
    written += inTransaction;
  }
  // What autovacuum does soon after a bulk load. Until PostgreSQL has statistics for the table it plans readAll's
  // page query (`position > ? ORDER BY position LIMIT n`, joined to streams) as a hash join and sort of the whole rest
  // of the log for every page. SQLite's planner needs no statistics here (and the server never gathers any).
  if (db.dialect === 'postgres') for (const table of ['events', 'streams']) await db.execute(`ANALYZE ${table}`);
  return (Date.now() - started) / 1000;
}
