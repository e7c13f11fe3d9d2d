// The inbound rule set, as plain data, so the AWS security group and the GCP firewall are built from one source.
// Egress is left open on both clouds: nodes fetch packages and dial peers and the control plane.
import type { InfraConfig } from '../config';

export const WIREGUARD_PORT = 51820;
export const CONTROL_PLANE_PORT = 8080;
export const SSH_PORT = 22;
export const ANYWHERE = '0.0.0.0/0';

export interface IngressRule {
  /** Stable short name, used in resource names and descriptions. */
  name: string;
  description: string;
  protocol: 'tcp' | 'udp';
  port: number;
  sources: string[];
}

export type Role = 'agent' | 'control-plane';

/**
 * Agents accept WireGuard from anywhere (peers roam and NAT) and SSH from the configured CIDRs; the control plane
 * accepts its API and SSH from the configured CIDRs. A rule without sources is dropped, so by default only
 * UDP 51820 is open, and only on agents.
 */
export function ingressRules(config: Pick<InfraConfig, 'sshAllowedCidrs' | 'apiAllowedCidrs'>, role: Role): IngressRule[] {
  const rules: IngressRule[] =
    role === 'agent'
      ? [{ name: 'wireguard', description: 'WireGuard mesh traffic', protocol: 'udp', port: WIREGUARD_PORT, sources: [ANYWHERE] }]
      : [
          {
            name: 'api',
            description: 'MeshGate control-plane API',
            protocol: 'tcp',
            port: CONTROL_PLANE_PORT,
            sources: config.apiAllowedCidrs,
          },
        ];
  rules.push({ name: 'ssh', description: 'SSH administration', protocol: 'tcp', port: SSH_PORT, sources: config.sshAllowedCidrs });
  return rules.filter((rule) => rule.sources.length > 0);
}
