import { Inject, Injectable } from '@nestjs/common';
import type { ApiKeyState, Role } from '@meshgate/domain';
import { DATABASE, Database } from '../storage/database.port';

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  description: string;
  secretHash: string;
  createdAt: string;
  state: ApiKeyState & { role: Role; createdBy: string; expiresAt: string };
  version: number;
}

interface Row {
  id: string; tenant_id: string; description: string; role: Role; secret_hash: string; created_by: string; created_at: string;
  expires_at: string; revoked: number; stream_version: number;
}

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  description: r.description,
  secretHash: r.secret_hash,
  createdAt: r.created_at,
  version: r.stream_version,
  state: { exists: true, keyId: r.id, tenantId: r.tenant_id, role: r.role, createdBy: r.created_by, expiresAt: r.expires_at, revoked: r.revoked === 1 },
});

/** API keys from the api-keys inline projection's table; also the key aggregate's snapshot. */
@Injectable()
export class ApiKeysReadModel {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  async find(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.one<Row>('SELECT * FROM api_keys WHERE id = ?', [id]);
    return row && toRecord(row);
  }

  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    return (await this.db.query<Row>('SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id', [tenantId])).map(toRecord);
  }
}
