import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditPage, AuditQueryDto } from '@meshgate/contracts';
import { Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { AuditLogReadModel } from './audit-log.read-model';
import { ApiAnswer } from '../openapi/api-answer.decorator';

@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly auditLog: AuditLogReadModel) {}

  /** Newest first; `nextCursor` continues below the last position returned. */
  @Get()
  @Allow({ tenant: ['owner', 'admin', 'auditor'] })
  @ApiAnswer(200, 'AuditPage')
  list(@Query() q: AuditQueryDto, @CurrentPrincipal() p: Principal): Promise<AuditPage> {
    return this.auditLog.page(tenantOf(p), {
      before: q.cursor !== undefined ? Number(q.cursor) : undefined,
      since: q.since !== undefined ? new Date(q.since) : undefined,
      until: q.until !== undefined ? new Date(q.until) : undefined,
      actor: q.actor,
      type: q.type,
    }, q.limit ?? 50);
  }
}
