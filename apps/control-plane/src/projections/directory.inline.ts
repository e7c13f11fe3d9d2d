import { streams } from '@meshgate/domain';
import type {
  EnrollmentKeyCreated, InvitationAccepted, MemberAdded, MemberInvited, MemberRemoved, MemberRoleChanged, RecordedEvent, TenantCreated,
  UserGroupsChanged, UserProvisioned, UserRegistered,
} from '@meshgate/domain';
import { SqlExecutor } from '../storage/database.port';
import { InlineProjection } from './inline-projection';

/** The unique key a second first user (registration by invitation) breaks. */
export const FIRST_USER_KEY = 'first_user(id)';

/** Users, tenants, memberships, invitations and enrollment keys: small tables, written in the append transaction. */
export class DirectoryProjection implements InlineProjection {
  readonly name = 'directory';
  readonly tables = ['users', 'first_user', 'tenants', 'memberships', 'invitations', 'enrollment_keys', 'user_identities', 'user_groups'];

  async apply(event: RecordedEvent, sql: SqlExecutor): Promise<void> {
    switch (event.type) {
      case 'UserRegistered': {
        const d = event.data as UserRegistered['data'];
        await sql.execute('INSERT INTO users (id, email, password_hash, registered_at) VALUES (?, ?, ?, ?)',
          [d.userId, d.email, d.passwordHash, event.recordedAt]);
        // One row at most: of two replicas letting in a first user at once, the second commit fails (FIRST_USER_KEY).
        if (d.firstUser) await sql.execute('INSERT INTO first_user (id, user_id) VALUES (1, ?)', [d.userId]);
        return;
      }
      case 'UserProvisioned': {
        // A single sign-on user has no password: the empty hash never verifies (auth.service.ts).
        const d = event.data as UserProvisioned['data'];
        await sql.execute('INSERT INTO users (id, email, password_hash, registered_at) VALUES (?, ?, ?, ?)',
          [d.userId, d.email, '', event.recordedAt]);
        await sql.execute('INSERT INTO user_identities (user_id, issuer, subject) VALUES (?, ?, ?)', [d.userId, d.issuer, d.subject]);
        return;
      }
      case 'UserGroupsChanged': {
        const d = event.data as UserGroupsChanged['data'];
        await sql.execute('DELETE FROM user_groups WHERE user_id = ?', [d.userId]);
        for (const group of d.groups) await sql.execute('INSERT INTO user_groups (user_id, group_name) VALUES (?, ?)', [d.userId, group]);
        return;
      }
      case 'TenantCreated': {
        const d = event.data as TenantCreated['data'];
        await sql.execute('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)', [d.tenantId, d.name, event.recordedAt]);
        return;
      }
      case 'MemberAdded':
      case 'InvitationAccepted': {
        const d = event.data as MemberAdded['data'] | InvitationAccepted['data'];
        if ('email' in d) await sql.execute('DELETE FROM invitations WHERE tenant_id = ? AND email = ?', [d.tenantId, d.email]);
        await sql.execute('INSERT INTO memberships (tenant_id, user_id, role, stream_version) VALUES (?, ?, ?, ?)',
          [d.tenantId, d.userId, d.role, event.streamVersion]);
        return;
      }
      case 'MemberInvited': {
        const d = event.data as MemberInvited['data'];
        await sql.execute('INSERT INTO invitations (tenant_id, email, role) VALUES (?, ?, ?)', [d.tenantId, d.email, d.role]);
        return;
      }
      case 'MemberRoleChanged': {
        const d = event.data as MemberRoleChanged['data'];
        await sql.execute('UPDATE memberships SET role = ?, stream_version = ? WHERE tenant_id = ? AND user_id = ?',
          [d.role, event.streamVersion, d.tenantId, d.userId]);
        return;
      }
      case 'MemberRemoved': {
        const d = event.data as MemberRemoved['data'];
        await sql.execute('DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?', [d.tenantId, d.userId]);
        return;
      }
      case 'EnrollmentKeyCreated': {
        const d = event.data as EnrollmentKeyCreated['data'];
        await sql.execute(
          `INSERT INTO enrollment_keys (id, tenant_id, secret_hash, reusable, expires_at, tags, uses, revoked, created_at, stream_version, created_by)
           VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)`,
          [d.keyId, d.tenantId, d.secretHash, d.reusable ? 1 : 0, d.expiresAt, JSON.stringify(d.tags), event.recordedAt, event.streamVersion,
            d.createdBy ?? null],
        );
        if (d.ephemeral) await sql.execute('UPDATE enrollment_keys SET ephemeral = 1 WHERE id = ?', [d.keyId]);
        return;
      }
      case 'EnrollmentKeyUsed': {
        // On the key's stream (a single-use key, or any key in older logs) the row follows its version; a reusable
        // key's use is recorded on the new node's stream and only counts.
        const keyId = (event.data as { keyId: string }).keyId;
        if (event.streamId === streams.enrollmentKey(keyId)) {
          await sql.execute('UPDATE enrollment_keys SET uses = uses + 1, stream_version = ? WHERE id = ?', [event.streamVersion, keyId]);
        } else {
          await sql.execute('UPDATE enrollment_keys SET uses = uses + 1 WHERE id = ?', [keyId]);
        }
        return;
      }
      case 'EnrollmentKeyRevoked':
        await sql.execute('UPDATE enrollment_keys SET revoked = 1, stream_version = ? WHERE id = ?',
          [event.streamVersion, (event.data as { keyId: string }).keyId]);
        return;
      default:
        return;
    }
  }
}
