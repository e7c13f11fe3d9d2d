import type { Database as Connection } from 'better-sqlite3';
import { MigrationInterface, QueryRunner } from 'typeorm';

const GENESIS = Buffer.alloc(32);

/**
 * The storage core's layout. The log moves to its compact form (stream references into `streams`, epoch-millisecond
 * times, 32-byte hashes; see event-codec.ts): every event is copied as it is — the chain is computed over the decoded
 * event, so every hash still verifies. The chain head becomes a row. Nodes, configs and policies become in-memory
 * views (fed from the log, started from snapshots), so their tables go; node identities get unique indexes, the
 * guarantee behind "one name, one key, one address per tenant" across replicas.
 */
export class StorageCore1733000000000 implements MigrationInterface {
  name = 'StorageCore1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE streams (ref INTEGER PRIMARY KEY, stream_id TEXT NOT NULL UNIQUE)`);
    await q.query(`CREATE TABLE events_compact (
      position INTEGER PRIMARY KEY,
      tenant_id TEXT,
      stream_ref INTEGER NOT NULL,
      stream_version INTEGER NOT NULL,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      metadata TEXT NOT NULL,
      recorded_at INTEGER NOT NULL,
      hash BLOB NOT NULL,
      UNIQUE (stream_ref, stream_version)
    )`);
    const db = (q.connection.driver as unknown as { databaseConnection: Connection }).databaseConnection;
    const refs = new Map<string, number>();
    const addStream = db.prepare('INSERT INTO streams (stream_id) VALUES (?)');
    const insert = db.prepare(`INSERT INTO events_compact VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    let last: { position: number; hash: Buffer } = { position: 0, hash: GENESIS };
    for (const row of db.prepare('SELECT * FROM events ORDER BY position').iterate() as IterableIterator<Record<string, any>>) {
      let ref = refs.get(row.stream_id);
      if (ref === undefined) refs.set(row.stream_id, (ref = Number(addStream.run(row.stream_id).lastInsertRowid)));
      const metadata = JSON.parse(row.metadata);
      const self = metadata.actor?.kind === 'node' && row.stream_id === `node-${metadata.actor.id}` && Object.keys(metadata).length === 1;
      const hash = Buffer.from(row.hash, 'hex');
      insert.run(row.position, row.tenant_id, ref, row.stream_version, row.type, row.data, self ? '' : row.metadata,
        Date.parse(row.recorded_at), hash);
      last = { position: row.position, hash };
    }
    await q.query(`DROP TRIGGER events_no_update`);
    await q.query(`DROP TRIGGER events_no_delete`);
    await q.query(`DROP TABLE events`);
    await q.query(`ALTER TABLE events_compact RENAME TO events`);
    await q.query(`CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`);
    await q.query(`CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`);
    await q.query(`CREATE TRIGGER streams_no_update BEFORE UPDATE ON streams BEGIN SELECT RAISE(ABORT, 'streams are append-only'); END`);
    await q.query(`CREATE TRIGGER streams_no_delete BEFORE DELETE ON streams BEGIN SELECT RAISE(ABORT, 'streams are append-only'); END`);

    await q.query(`CREATE TABLE chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, hash BLOB NOT NULL)`);
    db.prepare('INSERT INTO chain_head (id, position, hash) VALUES (1, ?, ?)').run(last.position, last.hash);

    await q.query(`CREATE TABLE node_identities (
      node_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, public_key TEXT NOT NULL,
      address TEXT NOT NULL, live INTEGER NOT NULL)`);
    await q.query(`CREATE UNIQUE INDEX node_identities_name ON node_identities (tenant_id, name) WHERE live = 1`);
    await q.query(`CREATE UNIQUE INDEX node_identities_key ON node_identities (tenant_id, public_key) WHERE live = 1`);
    await q.query(`CREATE UNIQUE INDEX node_identities_address ON node_identities (tenant_id, address)`);

    await q.query(`CREATE TABLE view_snapshots (
      position INTEGER PRIMARY KEY, hash BLOB NOT NULL, format INTEGER NOT NULL, data TEXT NOT NULL, taken_at TEXT NOT NULL)`);

    for (const table of ['nodes', 'node_configs', 'policies']) await q.query(`DROP TABLE ${table}`);
    await q.query(`DELETE FROM projection_checkpoints WHERE name IN ('nodes', 'config')`);
  }

  async down(): Promise<void> {
    throw new Error('the storage-core layout cannot be migrated down; restore a backup of the file instead');
  }
}
