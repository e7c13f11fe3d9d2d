import type { RecordedEvent } from '../shared/event';
import { formatReach, Reach } from '../policy/ports';
import { HistoryEventRef, refOf, TenantHistory } from './tenant-history';
import { accessReach } from './access-reach';

/** One end of an interval: the event that caused the change, or null at the edge of the window asked about. */
export interface TimelineBoundary {
  at: string;
  position: number;
  event: HistoryEventRef | null;
}

export interface ReachInterval {
  from: TimelineBoundary;
  to: TimelineBoundary;
  reach: Reach;
}

/**
 * The intervals within [from, to] in which `srcId` could reach `dstId`, and on what: `history` is the tenant folded
 * up to `from` (its position is `fromPosition`), `events` are its reachability events after that up to `to`, in log
 * order. A new interval starts whenever what src may reach changes (a port more is another interval), so every
 * boundary is one event.
 */
export function reachTimeline(
  history: TenantHistory, events: readonly RecordedEvent[], srcId: string, dstId: string,
  window: { from: string; fromPosition: number; to: string; toPosition: number },
): ReachInterval[] {
  const out: ReachInterval[] = [];
  let current = accessReach(history, srcId, dstId);
  let since: TimelineBoundary = { at: window.from, position: window.fromPosition, event: null };
  for (const event of events) {
    history.apply(event);
    const next = accessReach(history, srcId, dstId);
    if (formatReach(next) === formatReach(current)) continue;
    const boundary: TimelineBoundary = { at: event.recordedAt, position: event.position, event: refOf(event) };
    if (current.length) out.push({ from: since, to: boundary, reach: current });
    current = next;
    since = boundary;
  }
  if (current.length) out.push({ from: since, to: { at: window.to, position: window.toPosition, event: null }, reach: current });
  return out;
}
