import type { EnforcementPlan, LiveEnforcement } from './enforcement-plan';

/** What a read must cover, from the desired config and the WireGuard read: the rest is skipped. */
export interface EnforcementReadNeeds {
  /** Served routes are wanted, so net.ipv4.ip_forward matters. */
  forwarding: boolean;
  /** An exit route is wanted, so the policy routing state matters. */
  exitRouting: boolean;
  /** The interface's fwmark as the WireGuard read found it, 0 when off. */
  fwmark: number;
}

/**
 * The node-side policy (packet filter, NAT for served routes, forwarding, traffic shaping) for one WireGuard
 * interface. The reconciler reads it, plans the difference (enforcement-plan) and applies the plan.
 */
export interface EnforcementPort {
  /**
   * The live state. Parts the config does not need are not read: forwarding then reads false, and exit routing reads
   * as off unless the interface still carries its exit mark (left over from an exit route, to be removed).
   */
  read(needs: EnforcementReadNeeds): Promise<LiveEnforcement>;
  apply(plan: EnforcementPlan): Promise<void>;
  /** Removes everything MeshGate installed for the interface (its nft table and qdisc). */
  destroy(): Promise<void>;
}
