import { Inject, Injectable } from '@nestjs/common';
import type { Role } from '@meshgate/domain';
import { SQL_RUNNER, SqlRunner } from '../database/sql.port';

export interface UserRecord { id: string; email: string; passwordHash: string }
export interface MembershipRecord { tenantId: string; tenantName: string; role: Role }

/** Users, tenants and memberships, read from the directory projection's tables. */
@Injectable()
export class DirectoryReadModel {
  constructor(@Inject(SQL_RUNNER) private readonly sql: SqlRunner) {}

  userByEmail(email: string): UserRecord | undefined {
    const r = this.sql.get<{ id: string; email: string; password_hash: string }>('SELECT * FROM users WHERE email = ?', [email]);
    return r && { id: r.id, email: r.email, passwordHash: r.password_hash };
  }

  userById(id: string): UserRecord | undefined {
    const r = this.sql.get<{ id: string; email: string; password_hash: string }>('SELECT * FROM users WHERE id = ?', [id]);
    return r && { id: r.id, email: r.email, passwordHash: r.password_hash };
  }

  memberships(userId: string): MembershipRecord[] {
    return this.sql.all<{ tenant_id: string; name: string; role: Role }>(
      `SELECT m.tenant_id, t.name, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
       WHERE m.user_id = ? ORDER BY t.name, t.id`, [userId],
    ).map((r) => ({ tenantId: r.tenant_id, tenantName: r.name, role: r.role }));
  }

  members(tenantId: string): { userId: string; email: string; role: Role }[] {
    return this.sql.all<{ user_id: string; email: string; role: Role }>(
      `SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.tenant_id = ? ORDER BY u.email`, [tenantId],
    ).map((r) => ({ userId: r.user_id, email: r.email, role: r.role }));
  }
}
