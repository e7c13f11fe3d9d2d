/** GET/PUT /api/v1/policies. The document itself is validated by the domain's policy parser (errors name JSON paths). */
export interface PolicyView { version: number; policy: unknown; warnings?: string[] }

/** POST /api/v1/policies/preview: the reachability diff of a candidate document against the current one. */
export interface PolicyPreviewView {
  /** The policy version the diff is against (send it as If-Match when you PUT the candidate). */
  baseVersion: number;
  warnings: string[];
  /** Node pairs and what they gain or lose ("tcp:22 udp:53"); capped, see `truncated`. */
  gained: Array<{ src: string; dst: string; reach: string }>;
  lost: Array<{ src: string; dst: string; reach: string }>;
  /** Nodes whose config (peers, firewall, QoS, routes) would change. Never capped. */
  changedNodes: Array<{ id: string; name: string }>;
  truncated: boolean;
}
