import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identity and access (issue 12): API keys (the api-keys inline projection: looked up by id on every request that
 * presents one), and single sign-on identities and IdP groups (the directory projection). All rebuildable from the log.
 */
export class IdentityAccess1733120000000 implements MigrationInterface {
  name = 'IdentityAccess1733120000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE api_keys (
      id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, description TEXT NOT NULL, role TEXT NOT NULL, secret_hash TEXT NOT NULL,
      created_by TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked INTEGER NOT NULL,
      stream_version INTEGER NOT NULL)`);
    await q.query(`CREATE INDEX api_keys_tenant ON api_keys (tenant_id)`);
    await q.query(`CREATE TABLE user_identities (
      user_id TEXT PRIMARY KEY, issuer TEXT NOT NULL, subject TEXT NOT NULL, UNIQUE (issuer, subject))`);
    await q.query(`CREATE TABLE user_groups (user_id TEXT NOT NULL, group_name TEXT NOT NULL, PRIMARY KEY (user_id, group_name))`);
    await q.query(`CREATE INDEX user_groups_group ON user_groups (group_name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['user_groups', 'user_identities', 'api_keys']) await q.query(`DROP TABLE ${table}`);
  }
}
