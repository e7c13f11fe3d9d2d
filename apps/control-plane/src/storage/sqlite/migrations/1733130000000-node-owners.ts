import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Node owners (issue 12): an enrollment key records who created it, since an untagged key's nodes are owned by its
 * creator. Keys created before have none (NULL: unknown). The directory projection, rebuildable from the log.
 */
export class NodeOwners1733130000000 implements MigrationInterface {
  name = 'NodeOwners1733130000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE enrollment_keys ADD COLUMN created_by TEXT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE enrollment_keys DROP COLUMN created_by`);
  }
}
