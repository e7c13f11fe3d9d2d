import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The deployment's first user, let in without an invitation (registration by invitation): one row at most, so that
 * of two replicas admitting a first user at once the second commit fails (directory.inline.ts). Empty after an
 * upgrade: a deployment that has users lets no stranger in anyway.
 */
export class FirstUser1733160000000 implements MigrationInterface {
  name = 'FirstUser1733160000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE first_user (id INTEGER PRIMARY KEY CHECK (id = 1), user_id TEXT NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE first_user`);
  }
}
