import { BadRequestException, Controller, Get, Headers, HttpStatus, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditExportQueryDto } from '@meshgate/contracts';
import { Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { eventFrame, openEventStream } from '../common/event-stream';
import { RetryLaterException } from '../common/retry-later';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { MembershipsView } from '../projections/memberships.view';
import { AUDIT_READERS } from './audit-evidence.controller';
import { AuditExporter } from './audit-exporter';
import { AuditTail } from './audit-tail';
import { Line } from './export-lines';

/** Live audit streams a tenant may hold open at once on one replica (each reads the log on every commit). */
const STREAMS_PER_TENANT = 8;

const frame = (line: Line) => eventFrame(line.kind, line.position, line.text);

/**
 * The export's lines, live, over SSE: from `Last-Event-ID` (a position; what a reconnect sends), else `from`, else the
 * head. Each frame is `event: <kind>`, `id: <position>`, `data: <line>`; the lines are those of the export (no end
 * line), so a client that appends the data of every frame to a file can verify it as an export.
 */
@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditStreamController {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly exporter: AuditExporter,
    private readonly tail: AuditTail,
    private readonly memberships: MembershipsView,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('stream')
  @Allow({ tenant: AUDIT_READERS })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'SSE: one frame per export line, id = its position; resumable with Last-Event-ID',
    schema: { type: 'string', description: 'event frames; each data: line is one line of GET /api/v1/audit/export (JSON)' },
  })
  async stream(
    @Query() q: AuditExportQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() p: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const tenantId = tenantOf(p);
    if (lastEventId !== undefined && !/^[0-9]{1,15}$/.test(lastEventId)) throw new BadRequestException('Last-Event-ID must be a position of the log');
    const from = lastEventId !== undefined ? Number(lastEventId) : q.from !== undefined ? Number(q.from) : (await this.store.head()).position;
    const start = await this.exporter.startAt(from);
    if ((this.open.get(tenantId) ?? 0) >= STREAMS_PER_TENANT) {
      throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, `this tenant already has ${STREAMS_PER_TENANT} open audit streams`, 30);
    }
    const stream = openEventStream(reply, request);
    this.open.set(tenantId, (this.open.get(tenantId) ?? 0) + 1);
    stream.onEnd(() => {
      const left = (this.open.get(tenantId) ?? 1) - 1;
      if (left > 0) this.open.set(tenantId, left);
      else this.open.delete(tenantId);
    });
    const lines = this.exporter.lines(tenantId, start);
    let read = start.position;
    let reading = false;
    let again = false;
    // The stream outlives the request that was checked: it stops when its reader loses the right to read.
    const stillAllowed = () => {
      if (p.kind !== 'user') return false;
      const role = this.memberships.roleOf(tenantId, p.userId);
      return role !== undefined && (p.apiKeyId !== undefined || (role === p.role && AUDIT_READERS.includes(role)));
    };
    const pump = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          for await (const page of this.store.readHashedPages(read)) {
            if (stream.ended || !stillAllowed()) return stream.end();
            let text = '';
            for (const event of page) for (const line of lines.next(event)) text += frame(line);
            read = page[page.length - 1].position;
            // A slow reader holds back the reads, not the server's memory.
            if (text && !stream.raw.write(text)) await new Promise((resolve) => stream.raw.once('drain', resolve));
          }
        } while (again && !stream.ended);
      } catch {
        stream.end();
      } finally {
        reading = false;
      }
    };
    const subscription = this.tail.positions.subscribe({ next: () => void pump(), complete: () => stream.end() });
    stream.onEnd(() => subscription.unsubscribe());
    stream.raw.write(': audit stream\n\n');
    void pump();
    stream.keepAlive(this.config.ssePingMs);
  }
}
