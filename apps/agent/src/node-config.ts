import type { NodeConfig } from './contracts';

/**
 * Fills the lists a config from an older control plane (or saved by an older agent) lacks, so the rest of the agent
 * can rely on them. `firewall` stays absent when absent: that means "no filtering was asked for", which is not the
 * same as an empty list (filter everything peers initiate).
 */
export function normalizeNodeConfig(config: NodeConfig): NodeConfig {
  return {
    ...config,
    peers: config.peers ?? [],
    routes: config.routes ?? [],
    servedRoutes: config.servedRoutes ?? [],
    qos: config.qos ?? [],
  };
}
