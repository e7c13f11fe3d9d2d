import { MigrationInterface, QueryRunner } from 'typeorm';

/** Invitations of emails nobody has registered yet (the directory projection; rebuildable from the events). */
export class MemberInvitations1732600000000 implements MigrationInterface {
  name = 'MemberInvitations1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE invitations (
      tenant_id TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (tenant_id, email))`);
    await q.query(`CREATE INDEX invitations_email ON invitations (email)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE invitations`);
  }
}
