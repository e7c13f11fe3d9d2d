// A custom-mode VPC with one subnetwork and one firewall rule per shared ingress rule, applied by network tag.
// GCP allows all egress by default (implied rule), as on AWS.
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
import { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network';
import { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
import { Construct } from 'constructs';
import type { IngressRule } from '../shared/firewall-rules';

export interface GcpNetworkProps {
  name: string;
  region: string;
  subnetCidr: string;
  /** Network tag the firewall rules target; instances carry it. */
  targetTag: string;
  ingress: IngressRule[];
}

export class GcpNetwork extends Construct {
  readonly network: ComputeNetwork;
  readonly subnetwork: ComputeSubnetwork;

  constructor(scope: Construct, id: string, props: GcpNetworkProps) {
    super(scope, id);
    this.network = new ComputeNetwork(this, 'network', { name: props.name, autoCreateSubnetworks: false });
    this.subnetwork = new ComputeSubnetwork(this, 'subnetwork', {
      name: `${props.name}-${props.region}`,
      region: props.region,
      network: this.network.id,
      ipCidrRange: props.subnetCidr,
    });
    for (const rule of props.ingress) {
      new ComputeFirewall(this, `allow-${rule.name}`, {
        name: `${props.name}-allow-${rule.name}`,
        description: rule.description,
        network: this.network.name,
        direction: 'INGRESS',
        sourceRanges: rule.sources,
        targetTags: [props.targetTag],
        allow: [{ protocol: rule.protocol, ports: [String(rule.port)] }],
      });
    }
  }
}
