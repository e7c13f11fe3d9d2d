import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read-model columns for the policy engine: the HuJSON text of a policy, the schedule windows open per tenant, and a
 * node's routing identity (advertised/approved routes, exit node) as JSON. All rebuildable from the events.
 */
export class PolicyEngine1732500000000 implements MigrationInterface {
  name = 'PolicyEngine1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE policies ADD COLUMN text TEXT`);
    await q.query(`ALTER TABLE policies ADD COLUMN open_schedules TEXT NOT NULL DEFAULT '[]'`);
    await q.query(`ALTER TABLE policies ADD COLUMN schedule_version INTEGER NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE nodes ADD COLUMN routing TEXT NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE node_configs ADD COLUMN routing TEXT NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, column] of [['policies', 'text'], ['policies', 'open_schedules'], ['policies', 'schedule_version'], ['nodes', 'routing'], ['node_configs', 'routing']]) {
      await q.query(`ALTER TABLE ${table} DROP COLUMN ${column}`);
    }
  }
}
