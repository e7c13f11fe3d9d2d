import { Inject, Injectable } from '@nestjs/common';
import { EnrollmentKeyState, policyEngine } from '@meshgate/domain';
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
  uses: number; revoked: number; created_at: string; stream_version: number; created_by: string | null;
  ephemeral: number;
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
    // Keys created before tags were canonical hold bare names; before creators were recorded, no creator.
    revoked: r.revoked === 1, tags: policyEngine.canonicalTags(JSON.parse(r.tags)),
    ...(r.created_by !== null && r.created_by !== undefined ? { createdBy: r.created_by } : {}),
    ...(r.ephemeral === 1 ? { ephemeral: true } : {}),
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
