import { Inject, Injectable } from '@nestjs/common';
import type { EnrollmentKeyState } from '@meshgate/domain';
import { DATABASE, Database } from '../storage/database.port';

export interface EnrollmentKeyRecord {
  id: string;
  tenantId: string;
  secretHash: string;
  createdAt: string;
  uses: number;
  state: EnrollmentKeyState;
  version: number;
}

interface Row {
  id: string; tenant_id: string; secret_hash: string; reusable: number; expires_at: string | null; tags: string;
  uses: number; revoked: number; created_at: string; stream_version: number;
}

const toRecord = (r: Row): EnrollmentKeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  secretHash: r.secret_hash,
  createdAt: r.created_at,
  uses: r.uses,
  version: r.stream_version,
  state: {
    exists: true, keyId: r.id, reusable: r.reusable === 1, expiresAt: r.expires_at, used: r.uses > 0,
    revoked: r.revoked === 1, tags: JSON.parse(r.tags),
  },
});

/** Enrollment keys from the directory projection's table; also the key aggregate's snapshot. */
@Injectable()
export class EnrollmentKeysReadModel {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  async find(id: string): Promise<EnrollmentKeyRecord | undefined> {
    const row = await this.db.one<Row>('SELECT * FROM enrollment_keys WHERE id = ?', [id]);
    return row && toRecord(row);
  }

  async list(tenantId: string): Promise<EnrollmentKeyRecord[]> {
    return (await this.db.query<Row>('SELECT * FROM enrollment_keys WHERE tenant_id = ? ORDER BY created_at, id', [tenantId])).map(toRecord);
  }
}
