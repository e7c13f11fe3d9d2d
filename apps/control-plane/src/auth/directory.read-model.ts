import { Inject, Injectable } from '@nestjs/common';
import type { Role } from '@meshgate/domain';
import { MembershipsView } from '../projections/memberships.view';
import { DATABASE, Database } from '../storage/database.port';

export interface UserRecord { id: string; email: string; passwordHash: string }
export interface MembershipRecord { tenantId: string; tenantName: string; role: Role }

/** Users, tenants, memberships and invitations: roles from the memberships view, the rest from the directory's tables. */
@Injectable()
export class DirectoryReadModel {
  constructor(@Inject(DATABASE) private readonly db: Database, private readonly roles: MembershipsView) {}

  /** The user's current role in the tenant, or undefined: no SQL, as it is asked on every tenant-scoped request. */
  roleOf(tenantId: string, userId: string): Role | undefined {
    return this.roles.roleOf(tenantId, userId);
  }

  /** Tenants holding a pending invitation for the (normalised) email. */
  async tenantsInviting(email: string): Promise<string[]> {
    return (await this.db.query<{ tenant_id: string }>('SELECT tenant_id FROM invitations WHERE email = ? ORDER BY tenant_id', [email]))
      .map((r) => r.tenant_id);
  }

  /** Whether anyone has registered yet (the first user may always register: see REGISTRATION in app-config). */
  async hasUsers(): Promise<boolean> {
    return (await this.db.one('SELECT id FROM users LIMIT 1')) !== undefined;
  }

  /** The user a single sign-on identity (the IdP's issuer and subject) was provisioned as. */
  async userByIdentity(issuer: string, subject: string): Promise<UserRecord | undefined> {
    const r = await this.db.one<{ id: string; email: string; password_hash: string }>(
      'SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = ? AND i.subject = ?', [issuer, subject]);
    return r && { id: r.id, email: r.email, passwordHash: r.password_hash };
  }

  /**
   * The user's IdP groups as of their latest single sign-on, sorted (none for a password user). Policy refers to
   * them as `idp:<group>` (README, "Single sign-on").
   */
  async groupsOf(userId: string): Promise<string[]> {
    return (await this.db.query<{ group_name: string }>('SELECT group_name FROM user_groups WHERE user_id = ? ORDER BY group_name', [userId]))
      .map((r) => r.group_name);
  }

  async userByEmail(email: string): Promise<UserRecord | undefined> {
    const r = await this.db.one<{ id: string; email: string; password_hash: string }>('SELECT * FROM users WHERE email = ?', [email]);
    return r && { id: r.id, email: r.email, passwordHash: r.password_hash };
  }

  async userById(id: string): Promise<UserRecord | undefined> {
    const r = await this.db.one<{ id: string; email: string; password_hash: string }>('SELECT * FROM users WHERE id = ?', [id]);
    return r && { id: r.id, email: r.email, passwordHash: r.password_hash };
  }

  async memberships(userId: string): Promise<MembershipRecord[]> {
    return (await this.db.query<{ tenant_id: string; name: string; role: Role }>(
      `SELECT m.tenant_id, t.name, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
       WHERE m.user_id = ? ORDER BY t.name, t.id`, [userId],
    )).map((r) => ({ tenantId: r.tenant_id, tenantName: r.name, role: r.role }));
  }

  async members(tenantId: string): Promise<{ userId: string; email: string; role: Role }[]> {
    return (await this.db.query<{ user_id: string; email: string; role: Role }>(
      `SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.tenant_id = ? ORDER BY u.email`, [tenantId],
    )).map((r) => ({ userId: r.user_id, email: r.email, role: r.role }));
  }
}
