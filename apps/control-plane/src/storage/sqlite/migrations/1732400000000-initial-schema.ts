import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The SQLite schema. The events table is the source of truth; every other table is a read model that
 * `npm run replay` can drop and rebuild from it. Triggers make the log append-only even for a stray SQL client.
 */
export class InitialSchema1732400000000 implements MigrationInterface {
  name = 'InitialSchema1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE events (
      position INTEGER PRIMARY KEY,
      tenant_id TEXT,
      stream_id TEXT NOT NULL,
      stream_version INTEGER NOT NULL,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      metadata TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      hash TEXT NOT NULL,
      UNIQUE (stream_id, stream_version)
    )`);
    await q.query(`CREATE INDEX events_tenant ON events (tenant_id, position)`);
    await q.query(`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
      BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`);
    await q.query(`CREATE TRIGGER events_no_delete BEFORE DELETE ON events
      BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`);

    await q.query(`CREATE TABLE projection_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)`);
    await q.query(`CREATE TABLE users (
      id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, registered_at TEXT NOT NULL)`);
    await q.query(`CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)`);
    await q.query(`CREATE TABLE memberships (
      tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, stream_version INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, user_id))`);
    await q.query(`CREATE INDEX memberships_user ON memberships (user_id)`);
    await q.query(`CREATE TABLE enrollment_keys (
      id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, secret_hash TEXT NOT NULL, reusable INTEGER NOT NULL,
      expires_at TEXT, tags TEXT NOT NULL, uses INTEGER NOT NULL, revoked INTEGER NOT NULL, created_at TEXT NOT NULL,
      stream_version INTEGER NOT NULL)`);
    await q.query(`CREATE INDEX enrollment_keys_tenant ON enrollment_keys (tenant_id)`);
    await q.query(`CREATE TABLE nodes (
      id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, public_key TEXT NOT NULL,
      address TEXT NOT NULL, endpoint TEXT, listen_port INTEGER NOT NULL, tags TEXT NOT NULL, status TEXT NOT NULL,
      last_seen_at TEXT, token_hash TEXT NOT NULL, stream_version INTEGER NOT NULL, registered_at TEXT NOT NULL,
      rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL, enrollment_key_id TEXT)`);
    await q.query(`CREATE INDEX nodes_tenant ON nodes (tenant_id, name)`);
    await q.query(`CREATE TABLE policies (tenant_id TEXT PRIMARY KEY, version INTEGER NOT NULL, document TEXT NOT NULL)`);
    await q.query(`CREATE TABLE node_configs (
      node_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
      tags TEXT NOT NULL, public_key TEXT NOT NULL, address TEXT NOT NULL, endpoint TEXT, listen_port INTEGER NOT NULL)`);
    await q.query(`CREATE TABLE audit_log (
      position INTEGER PRIMARY KEY, tenant_id TEXT, at TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_id TEXT NOT NULL,
      type TEXT NOT NULL, subject TEXT NOT NULL, details TEXT NOT NULL)`);
    await q.query(`CREATE INDEX audit_tenant ON audit_log (tenant_id, position)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_log', 'node_configs', 'policies', 'nodes', 'enrollment_keys', 'memberships', 'tenants',
      'users', 'projection_checkpoints']) {
      await q.query(`DROP TABLE ${table}`);
    }
    await q.query(`DROP TRIGGER events_no_delete`);
    await q.query(`DROP TRIGGER events_no_update`);
    await q.query(`DROP TABLE events`);
  }
}
