import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DomainError, reachTimeline } from '@meshgate/domain';
import type { TimelineView } from '@meshgate/contracts';
import { nodeAt } from '../history-nodes';
import { asOf, boundaryView, nodeView, reachView } from '../history-views';
import { fold, ReachabilityHistoryReadModel } from '../reachability-history.read-model';
import { GetTimelineQuery } from './get-timeline.query';

@QueryHandler(GetTimelineQuery)
export class GetTimelineHandler implements IQueryHandler<GetTimelineQuery, TimelineView> {
  constructor(private readonly history: ReachabilityHistoryReadModel) {}

  async execute({ tenantId, params }: GetTimelineQuery): Promise<TimelineView> {
    const from = this.history.instant('from', params.from);
    const to = this.history.instant('to', params.to);
    if (from > to) throw new DomainError('TIMELINE_INVALID', 'INVALID', 'from must not be after to');
    const events = await this.history.events(tenantId, to);
    // The nodes are the ones the names meant by the end of the window (a name may have passed to a newer node).
    const end = fold(tenantId, events);
    const src = nodeAt(end, 'src', params.src, to);
    const dst = nodeAt(end, 'dst', params.dst, to);
    const before = (e: { recordedAt: string }) => Date.parse(e.recordedAt) <= from.getTime();
    const start = fold(tenantId, events.filter(before));
    const startAsOf = asOf(start, from);
    const intervals = reachTimeline(start, events.filter((e) => !before(e)), src.id, dst.id,
      { from: startAsOf.at, fromPosition: startAsOf.position, to: to.toISOString(), toPosition: end.last?.position ?? 0 });
    return {
      src: nodeView(src),
      dst: nodeView(dst),
      from: startAsOf,
      to: asOf(end, to),
      intervals: intervals.map((i) => ({ from: boundaryView(i.from), to: boundaryView(i.to), reach: reachView(i.reach) })),
    };
  }
}
