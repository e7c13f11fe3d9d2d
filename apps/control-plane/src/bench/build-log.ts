import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { streams } from '@meshgate/domain';
import { SqlEventStore } from '../event-store/sql-event-store';
import { InlineProjections } from '../projections/inline-projections';
import { ProjectionRunner } from '../projections/projection-runner';
import { ViewFeeder } from '../projections/view-feeder';
import { ViewSnapshots } from '../projections/view-snapshots';
import { freshViews, inlineProjections } from '../replay';
import { openDatabase } from '../storage/open-database';

export function publicKey(): string {
  const jwk = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }) as { x: string };
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

/**
 * A log like production's: one tenant, 1,000 nodes in a full mesh, the rest steady-state heartbeats (`NodeSeen`),
 * through the real append path.
 */
export async function buildLog(path: string, total: number): Promise<{ events: number; seconds: number }> {
  const started = Date.now();
  const db = await openDatabase({ databasePath: path, writeBusyWaitMs: 5_000 });
  const store = new SqlEventStore(db);
  await new ProjectionRunner(db, store, new InlineProjections(db, store, inlineProjections()), new ViewFeeder(store, freshViews(), []),
    new ViewSnapshots(db, store)).start();
  const tenantId = randomUUID();
  const actor = { kind: 'system' as const, id: 'bench' };
  await store.append({ tenantId, streams: [{ streamId: streams.policy(tenantId), expectedVersion: 0, events: [{ type: 'PolicyUpdated', data: { tenantId, version: 1, policy: { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] } } }] }], metadata: { actor } });
  const nodeIds: string[] = [];
  const versions: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const nodeId = randomUUID();
    nodeIds.push(nodeId);
    versions.push(1);
    await store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: 0, events: [{ type: 'NodeRegistered', data: {
      nodeId, tenantId, name: `n${i}`, publicKey: publicKey(), address: `100.64.${(i + 1) >> 8}.${(i + 1) & 255}`, endpoint: null,
      listenPort: 51820, tags: [], tokenHash: '0'.repeat(64), enrollmentKeyId: null } }] }], metadata: { actor } });
  }
  let events = 1001;
  while (events < total) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < nodeIds.length && events < total; i++, events++) {
      batch.push(store.append({ tenantId, streams: [{ streamId: streams.node(nodeIds[i]), expectedVersion: versions[i]++, events: [{ type: 'NodeSeen', data: {} }] }], metadata: { actor: { kind: 'node', id: nodeIds[i] } } }));
    }
    await Promise.all(batch);
  }
  await db.close();
  return { events, seconds: (Date.now() - started) / 1000 };
}

