import type { EnforcementPlan, LiveEnforcement } from './enforcement-plan';

/**
 * The node-side policy (packet filter, NAT for served routes, forwarding, traffic shaping) for one WireGuard
 * interface. The reconciler reads it, plans the difference (enforcement-plan) and applies the plan.
 */
export interface EnforcementPort {
  read(): Promise<LiveEnforcement>;
  apply(plan: EnforcementPlan): Promise<void>;
  /** Removes everything MeshGate installed for the interface (its nft table and qdisc). */
  destroy(): Promise<void>;
}
