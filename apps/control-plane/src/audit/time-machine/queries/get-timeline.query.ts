import type { TimelineQueryDto } from '@meshgate/contracts';

export class GetTimelineQuery {
  constructor(readonly tenantId: string, readonly params: TimelineQueryDto) {}
}
