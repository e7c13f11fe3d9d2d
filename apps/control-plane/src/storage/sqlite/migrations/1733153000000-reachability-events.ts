import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit time machine (issue 13): the positions of each tenant's reachability events (reachability-events.inline.ts),
 * filled from position 0 on the first start after this migration. A policy change's audit entry now carries its
 * diff's summary: the audit log is emptied and rebuilt from the log the same way, so old entries get it too (and
 * `replay --full` finds the rebuilt table equal to the live one).
 */
export class ReachabilityEvents1733153000000 implements MigrationInterface {
  name = 'ReachabilityEvents1733153000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE reachability_events (scope TEXT NOT NULL, position BIGINT NOT NULL, recorded_at BIGINT NOT NULL, PRIMARY KEY (scope, position))`);
    await q.query(`DELETE FROM audit_log`);
    await q.query(`DELETE FROM projection_checkpoints WHERE name = 'audit'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reachability_events`);
  }
}
