import type { ApiKeyCreated, ApiKeyRevoked, RecordedEvent } from '@meshgate/domain';
import { SqlExecutor } from '../storage/database.port';
import { InlineProjection } from './inline-projection';

/**
 * API keys, written in the append transaction: a key is usable (and a revoked one refused) on every replica as soon
 * as its creation (revocation) is acknowledged. Looked up by id on each request that presents one.
 */
export class ApiKeysProjection implements InlineProjection {
  readonly name = 'api-keys';
  readonly tables = ['api_keys'];

  async apply(event: RecordedEvent, sql: SqlExecutor): Promise<void> {
    switch (event.type) {
      case 'ApiKeyCreated': {
        const d = event.data as ApiKeyCreated['data'];
        await sql.execute(
          `INSERT INTO api_keys (id, tenant_id, description, role, secret_hash, created_by, created_at, expires_at, revoked, stream_version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
          [d.keyId, d.tenantId, d.description, d.role, d.secretHash, d.createdBy, event.recordedAt, d.expiresAt, event.streamVersion],
        );
        return;
      }
      case 'ApiKeyRevoked':
        await sql.execute('UPDATE api_keys SET revoked = 1, stream_version = ? WHERE id = ?',
          [event.streamVersion, (event.data as ApiKeyRevoked['data']).keyId]);
        return;
      default:
        return;
    }
  }
}
