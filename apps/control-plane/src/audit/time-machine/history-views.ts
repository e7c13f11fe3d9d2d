import {
  Decision, HistoricalNode, HistoryEventRef, policyEngine, ReachInterval, TenantHistory,
} from '@meshgate/domain';
import type { AsOfView, DecisionView, HistoryEventView, HistoryNodeView, ReachView, TimelineBoundaryView } from '@meshgate/contracts';

/** The wire shapes of the time machine's answers, from the domain's. */
export const eventView = (e: HistoryEventRef): HistoryEventView => ({ position: e.position, at: e.at, type: e.type, actor: e.actor });

export const nodeView = (n: HistoricalNode): HistoryNodeView => ({ id: n.id, name: n.name, address: n.address, tags: [...n.tags] });

export function reachView(reach: policyEngine.Reach): ReachView {
  return {
    summary: policyEngine.formatReach(reach),
    protocols: reach.map(({ proto, ports }) => (policyEngine.hasPorts(proto)
      ? { proto: policyEngine.protoName(proto), ports: policyEngine.formatPorts(ports) ?? '*' }
      : { proto: policyEngine.protoName(proto) })),
  };
}

/** The position the folded state reflects: its last event (0: none yet). */
export const asOf = (history: TenantHistory, at: Date): AsOfView => ({ at: at.toISOString(), position: history.last?.position ?? 0 });

export function decisionView(decision: Decision, history: TenantHistory): DecisionView {
  switch (decision.kind) {
    case 'rule':
      return { ...decision, entry: decision.entry as Record<string, unknown>, policyVersion: history.policy.version };
    case 'default-deny':
      return {
        kind: 'default-deny', policyVersion: history.policy.version,
        ...(decision.closedSchedules ? { closedSchedules: decision.closedSchedules.map((c) => ({ ...c, closedBy: c.closedBy && eventView(c.closedBy) })) } : {}),
      };
    case 'not-in-mesh':
      return { ...decision, event: decision.event && eventView(decision.event) };
    default:
      return decision;
  }
}

export function boundaryView(b: ReachInterval['from']): TimelineBoundaryView {
  return { at: b.at, position: b.position, event: b.event && eventView(b.event) };
}
