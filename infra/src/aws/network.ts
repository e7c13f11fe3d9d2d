// One public subnet in one AZ with an internet gateway, and a security group built from the shared rule set.
// Used by the agent stack and the control-plane stack alike.
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Construct } from 'constructs';
import { ANYWHERE, IngressRule } from '../shared/firewall-rules';

export interface AwsNetworkProps {
  name: string;
  availabilityZone: string;
  vpcCidr: string;
  subnetCidr: string;
  ingress: IngressRule[];
}

export class AwsNetwork extends Construct {
  readonly vpc: Vpc;
  readonly subnet: Subnet;
  readonly securityGroup: SecurityGroup;
  /** Routes 0.0.0.0/0 to the internet gateway; another public subnet joins it with addPublicSubnet(). */
  readonly publicRoutes: RouteTable;

  constructor(scope: Construct, id: string, props: AwsNetworkProps) {
    super(scope, id);
    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: props.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: props.name },
    });
    this.subnet = new Subnet(this, 'public-subnet', {
      vpcId: this.vpc.id,
      cidrBlock: props.subnetCidr,
      availabilityZone: props.availabilityZone,
      mapPublicIpOnLaunch: true,
      tags: { Name: `${props.name}-public` },
    });
    const gateway = new InternetGateway(this, 'internet-gateway', { vpcId: this.vpc.id, tags: { Name: props.name } });
    this.publicRoutes = new RouteTable(this, 'public-routes', {
      vpcId: this.vpc.id,
      route: [{ cidrBlock: ANYWHERE, gatewayId: gateway.id }],
      tags: { Name: `${props.name}-public` },
    });
    new RouteTableAssociation(this, 'public-routes-association', { subnetId: this.subnet.id, routeTableId: this.publicRoutes.id });

    // Rules are separate resources, not inline blocks: inline ingress blocks in JSON need every optional field.
    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: props.name,
      description: `MeshGate ${props.name}`,
      vpcId: this.vpc.id,
      tags: { Name: props.name },
    });
    for (const rule of props.ingress) {
      rule.sources.forEach((cidr, index) => {
        new VpcSecurityGroupIngressRule(this, `ingress-${rule.name}-${index}`, {
          securityGroupId: this.securityGroup.id,
          description: rule.description,
          ipProtocol: rule.protocol,
          fromPort: rule.port,
          toPort: rule.port,
          cidrIpv4: cidr,
        });
      });
    }
    new VpcSecurityGroupEgressRule(this, 'egress-all', {
      securityGroupId: this.securityGroup.id,
      description: 'Packages, peers and the control plane',
      ipProtocol: '-1',
      cidrIpv4: ANYWHERE,
    });
  }

  /** One more public subnet (a load balancer needs two AZs), routed through the same internet gateway. */
  addPublicSubnet(id: string, cidrBlock: string, availabilityZone: string, name: string): Subnet {
    const subnet = new Subnet(this, id, {
      vpcId: this.vpc.id,
      cidrBlock,
      availabilityZone,
      mapPublicIpOnLaunch: true,
      tags: { Name: name },
    });
    new RouteTableAssociation(this, `${id}-routes-association`, { subnetId: subnet.id, routeTableId: this.publicRoutes.id });
    return subnet;
  }
}
