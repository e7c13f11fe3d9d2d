import { Inject, Injectable } from '@nestjs/common';
import type { AuditPage } from '@meshgate/contracts';
import { DATABASE, Database } from '../storage/database.port';

interface AuditRow {
  position: number; at: string; actor_kind: 'user' | 'node' | 'system'; actor_id: string; type: string; subject: string; details: string;
}

export interface AuditFilter {
  /** Entries below this position (the previous page's cursor). */
  before?: number;
  since?: Date;
  until?: Date;
  actor?: string;
  type?: string;
}

/** The audit log's table (written by the audit-log inline projection), newest first. */
@Injectable()
export class AuditLogReadModel {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  async page(tenantId: string, filter: AuditFilter, limit: number): Promise<AuditPage> {
    const where = ['tenant_id = ?'];
    const params: unknown[] = [tenantId];
    if (filter.before !== undefined) { where.push('position < ?'); params.push(filter.before); }
    if (filter.since !== undefined) { where.push('at >= ?'); params.push(filter.since.toISOString()); }
    if (filter.until !== undefined) { where.push('at < ?'); params.push(filter.until.toISOString()); }
    if (filter.actor !== undefined) { where.push('actor_id = ?'); params.push(filter.actor); }
    if (filter.type !== undefined) { where.push('type = ?'); params.push(filter.type); }
    const rows = await this.db.query<AuditRow>(
      `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY position DESC LIMIT ?`, [...params, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        position: r.position, at: r.at, actor: { kind: r.actor_kind, id: r.actor_id }, type: r.type, subject: r.subject,
        details: JSON.parse(r.details),
      })),
      nextCursor: rows.length > limit ? String(page[page.length - 1].position) : null,
    };
  }
}
