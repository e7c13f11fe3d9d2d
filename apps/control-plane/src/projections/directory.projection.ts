import type {
  EnrollmentKeyCreated, MemberAdded, RecordedEvent, TenantCreated, UserRegistered,
} from '@meshgate/domain';
import { SqlRunner } from '../database/sql.port';
import { Projection } from './projection';

/** Users, tenants, memberships and enrollment keys: small tables written straight through. */
export class DirectoryProjection implements Projection {
  readonly name = 'directory';
  readonly tables = ['users', 'tenants', 'memberships', 'enrollment_keys'];

  load(): void {
    // No in-memory state: queries read the tables.
  }

  apply(event: RecordedEvent, sql: SqlRunner): void {
    switch (event.type) {
      case 'UserRegistered': {
        const d = event.data as UserRegistered['data'];
        sql.run('INSERT INTO users (id, email, password_hash, registered_at) VALUES (?, ?, ?, ?)',
          [d.userId, d.email, d.passwordHash, event.recordedAt]);
        return;
      }
      case 'TenantCreated': {
        const d = event.data as TenantCreated['data'];
        sql.run('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)', [d.tenantId, d.name, event.recordedAt]);
        return;
      }
      case 'MemberAdded': {
        const d = event.data as MemberAdded['data'];
        sql.run('INSERT INTO memberships (tenant_id, user_id, role, stream_version) VALUES (?, ?, ?, ?)',
          [d.tenantId, d.userId, d.role, event.streamVersion]);
        return;
      }
      case 'EnrollmentKeyCreated': {
        const d = event.data as EnrollmentKeyCreated['data'];
        sql.run(
          `INSERT INTO enrollment_keys (id, tenant_id, secret_hash, reusable, expires_at, tags, uses, revoked, created_at, stream_version)
           VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)`,
          [d.keyId, d.tenantId, d.secretHash, d.reusable ? 1 : 0, d.expiresAt, JSON.stringify(d.tags), event.recordedAt, event.streamVersion],
        );
        return;
      }
      case 'EnrollmentKeyUsed':
        sql.run('UPDATE enrollment_keys SET uses = uses + 1, stream_version = ? WHERE id = ?',
          [event.streamVersion, (event.data as { keyId: string }).keyId]);
        return;
      case 'EnrollmentKeyRevoked':
        sql.run('UPDATE enrollment_keys SET revoked = 1, stream_version = ? WHERE id = ?',
          [event.streamVersion, (event.data as { keyId: string }).keyId]);
        return;
      default:
        return;
    }
  }

  flush(): void {
    // Rows are written in apply.
  }
}
