import type { RecordedEvent } from '../shared/event';
import { DatedNodeEvent, evolveNode, initialNodeState, NodeState, NodeStatus } from '../node/node';
import { HistoryEventRef, refOf } from './tenant-history';

/** A node's state as its events left it, from one event on. */
export interface NodeHistoryEntry {
  event: HistoryEventRef;
  status: NodeStatus;
  endpoint: string | null;
  publicKey: string | null;
  tags: string[];
  approvedRoutes: string[];
  keyExpired: boolean;
}

const summary = (s: NodeState) => ({
  status: s.status, endpoint: s.endpoint, publicKey: s.publicKey ?? null, tags: s.tags ?? [], approvedRoutes: s.approvedRoutes ?? [],
  keyExpired: !!s.keyExpired,
});

/**
 * A node's stream, folded with the node aggregate's own evolve, as the list of its changes: one entry per event that
 * changed its status, endpoint, key, tags, approved routes or key expiry. Heartbeats that changed none of these
 * (nearly all of them) make no entry.
 */
export function nodeHistory(events: readonly RecordedEvent[]): NodeHistoryEntry[] {
  let state = initialNodeState;
  let last = JSON.stringify(summary(state));
  const out: NodeHistoryEntry[] = [];
  for (const event of events) {
    state = evolveNode(state, event as unknown as DatedNodeEvent);
    const now = summary(state);
    const text = JSON.stringify(now);
    if (text === last) continue;
    last = text;
    out.push({ event: refOf(event), ...now });
  }
  return out;
}
