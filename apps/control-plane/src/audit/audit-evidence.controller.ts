import { Controller, Get, Header, Inject, Logger, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { AuditExportQueryDto, CheckpointPage, CheckpointsQueryDto } from '@meshgate/contracts';
import type { Role } from '@meshgate/domain';
import { Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { schemaRef } from '../openapi/api-answer.decorator';
import { AuditExporter } from './audit-exporter';
import { publicKeyPem } from './checkpoint-signature';
import { CheckpointsReadModel } from './checkpoints.read-model';

/** Who may read the log's evidence: as for the audit log. */
export const AUDIT_READERS: readonly Role[] = ['owner', 'admin', 'auditor'];

/** Signed checkpoints, their public key, and the tenant's export of the log for a SIEM or an offline copy. */
@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditEvidenceController {
  private readonly logger = new Logger(AuditEvidenceController.name);
  private readonly publicKey: string;

  constructor(
    private readonly checkpoints: CheckpointsReadModel,
    private readonly exporter: AuditExporter,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.publicKey = publicKeyPem(config.checkpointSigningKey);
  }

  /** The Ed25519 public key (SPKI PEM) checkpoints and export lines are signed with: `npm run verify -- --key`. */
  @Get('checkpoints/key')
  @Allow({ tenant: AUDIT_READERS })
  @Header('content-type', 'application/x-pem-file')
  @ApiProduces('application/x-pem-file')
  @ApiOkResponse({ description: 'the public key, PEM', schema: { type: 'string' } })
  key(): string {
    return this.publicKey;
  }

  /** Newest first; `position:hash` of an item is what `npm run verify -- --checkpoint` takes. */
  @Get('checkpoints')
  @Allow({ tenant: AUDIT_READERS })
  @ApiOkResponse({ description: 'a page of signed checkpoints, newest first; nextCursor continues below', schema: schemaRef('CheckpointPage') })
  list(@Query() q: CheckpointsQueryDto): Promise<CheckpointPage> {
    return this.checkpoints.page(q.limit ?? 50, q.cursor !== undefined ? Number(q.cursor) : undefined);
  }

  /**
   * The log after `from` as JSON lines (see README, "Tamper evidence"): the tenant's events with their hashes, other
   * tenants' only as runs of hashes, checkpoints, and a signed end line. Streamed a page of the log at a time.
   */
  @Get('export')
  @Allow({ tenant: AUDIT_READERS })
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({ description: 'JSON lines, one per event or run of hidden events, ending with a signed end line', schema: { type: 'string' } })
  async export(@Query() q: AuditExportQueryDto, @CurrentPrincipal() p: Principal, @Res() reply: FastifyReply): Promise<void> {
    const tenantId = tenantOf(p);
    const start = await this.exporter.startAt(q.from !== undefined ? Number(q.from) : 0);
    const lines = this.exporter.export(tenantId, start);
    const logger = this.logger;
    const body = Readable.from((async function* () {
      try {
        yield* lines;
      } catch (error) {
        // Headers are sent: the client sees the export stop without its end line (a verifier says "truncated").
        logger.error(`audit export for tenant ${tenantId} stopped: ${(error as Error).message}`);
        throw error;
      }
    })(), { objectMode: false });
    await reply.header('content-type', 'application/x-ndjson; charset=utf-8').header('cache-control', 'no-store').send(body);
  }
}
