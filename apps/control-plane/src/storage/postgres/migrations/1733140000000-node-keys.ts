import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Node keys (issue 12): an enrollment key may be ephemeral (its nodes are removed once inactive). Keys created before
 * are not (0). The directory projection, rebuildable from the log.
 */
export class NodeKeys1733140000000 implements MigrationInterface {
  name = 'NodeKeys1733140000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE enrollment_keys ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE enrollment_keys DROP COLUMN ephemeral`);
  }
}
