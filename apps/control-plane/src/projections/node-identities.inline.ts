import { DomainError, NodeKeyRotated, NodeRegistered, NodeRenamed, RecordedEvent } from '@meshgate/domain';
import { SqlExecutor, UniqueViolationError } from '../storage/database.port';
import { InlineProjection } from './inline-projection';

/**
 * Each node's name, WireGuard key and overlay address, written in the append transaction under unique indexes: the
 * guarantee (on every replica, whatever the in-memory fast path saw) that a tenant has one live node per name and per
 * key, and never hands out an address twice.
 */
export class NodeIdentitiesProjection implements InlineProjection {
  readonly name = 'node-identities';
  readonly tables = ['node_identities'];

  async apply(event: RecordedEvent, sql: SqlExecutor): Promise<void> {
    switch (event.type) {
      case 'NodeRegistered': {
        const d = event.data as NodeRegistered['data'];
        await sql.execute('INSERT INTO node_identities (node_id, tenant_id, name, public_key, address, live) VALUES (?, ?, ?, ?, ?, 1)',
          [d.nodeId, d.tenantId, d.name, d.publicKey, d.address]);
        return;
      }
      case 'NodeRemoved':
        await sql.execute('UPDATE node_identities SET live = 0 WHERE node_id = ?', [(event.data as { nodeId: string }).nodeId]);
        return;
      case 'NodeRenamed':
        // Under the (tenant, name) unique index: a name another live node holds is refused here on any replica.
        await sql.execute('UPDATE node_identities SET name = ? WHERE node_id = ?', [(event.data as NodeRenamed['data']).name, (event.data as NodeRenamed['data']).nodeId]);
        return;
      case 'NodeKeyRotated': {
        // Under the (tenant, public key) unique index: a key another live node holds is refused here on any replica.
        const d = event.data as NodeKeyRotated['data'];
        await sql.execute('UPDATE node_identities SET public_key = ? WHERE node_id = ?', [d.publicKey, d.nodeId]);
        return;
      }
      default:
        return;
    }
  }
}

export const ADDRESS_KEY = 'node_identities(tenant_id,address)';

/** A registration that lost a race on a unique identity, as the 409 the API answers (or null: not one of ours). */
export function identityConflict(error: UniqueViolationError): DomainError | null {
  switch (error.key) {
    case 'node_identities(tenant_id,name)':
      return new DomainError('NODE_NAME_TAKEN', 'CONFLICT', 'name is already used by another node in this tenant');
    case 'node_identities(tenant_id,public_key)':
      return new DomainError('PUBLIC_KEY_TAKEN', 'CONFLICT', 'publicKey is already registered in this tenant');
    case ADDRESS_KEY:
      return new DomainError('ADDRESS_TAKEN', 'CONFLICT', 'the overlay address was taken concurrently; retry');
    case 'users(email)':
      return new DomainError('EMAIL_TAKEN', 'CONFLICT', 'email is already registered');
    default:
      return null;
  }
}
