import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditPage, AuditQueryDto } from '@meshgate/contracts';
import { Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { SQL_RUNNER, SqlRunner } from '../database/sql.port';

interface AuditRow {
  position: number; at: string; actor_kind: 'user' | 'node' | 'system'; actor_id: string; type: string; subject: string; details: string;
}

@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(@Inject(SQL_RUNNER) private readonly sql: SqlRunner) {}

  /** Newest first; `nextCursor` continues below the last position returned. */
  @Get()
  @Allow({ tenant: ['owner', 'admin', 'auditor'] })
  list(@Query() q: AuditQueryDto, @CurrentPrincipal() p: Principal): AuditPage {
    const limit = q.limit ?? 50;
    const where = ['tenant_id = ?'];
    const params: unknown[] = [tenantOf(p)];
    if (q.cursor !== undefined) { where.push('position < ?'); params.push(Number(q.cursor)); }
    if (q.since !== undefined) { where.push('at >= ?'); params.push(new Date(q.since).toISOString()); }
    if (q.until !== undefined) { where.push('at < ?'); params.push(new Date(q.until).toISOString()); }
    if (q.actor !== undefined) { where.push('actor_id = ?'); params.push(q.actor); }
    if (q.type !== undefined) { where.push('type = ?'); params.push(q.type); }
    const rows = this.sql.all<AuditRow>(
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
