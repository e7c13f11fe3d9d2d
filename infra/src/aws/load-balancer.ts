// The application load balancer in front of the control-plane replicas. Any replica serves any request, SSE
// included (agents resume with Last-Event-ID), so there are no sticky sessions. Config streams are long-lived and
// idle between comment pings (15 s by default): the idle timeout is an hour, far above twice the ping interval.
// Targets are healthy when GET /health/ready answers 200 (the process is up and its database answers).
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { LbTargetGroupAttachment } from '@cdktf/provider-aws/lib/lb-target-group-attachment';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Construct } from 'constructs';

export const LB_IDLE_TIMEOUT_SECONDS = 3600;
export const READINESS_PATH = '/health/ready';

export interface ControlPlaneLoadBalancerProps {
  name: string;
  vpcId: string;
  /** Public subnets in at least two AZs. */
  subnetIds: string[];
  /** Port of the listener and of the replicas. */
  port: number;
  /** Who may reach the listener; none leaves it closed. */
  allowedCidrs: string[];
  /** The replicas' security group: it gets the API port from the load balancer, and from nothing else here. */
  targetSecurityGroupId: string;
}

export class ControlPlaneLoadBalancer extends Construct {
  readonly lb: Lb;
  readonly targetGroup: LbTargetGroup;
  readonly securityGroup: SecurityGroup;
  private readonly port: number;

  constructor(scope: Construct, id: string, props: ControlPlaneLoadBalancerProps) {
    super(scope, id);
    this.port = props.port;
    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: `${props.name}-lb`,
      description: `MeshGate ${props.name} load balancer`,
      vpcId: props.vpcId,
      tags: { Name: `${props.name}-lb` },
    });
    props.allowedCidrs.forEach((cidr, index) => {
      new VpcSecurityGroupIngressRule(this, `ingress-api-${index}`, {
        securityGroupId: this.securityGroup.id,
        description: 'MeshGate control-plane API',
        ipProtocol: 'tcp',
        fromPort: props.port,
        toPort: props.port,
        cidrIpv4: cidr,
      });
    });
    new VpcSecurityGroupEgressRule(this, 'egress-targets', {
      securityGroupId: this.securityGroup.id,
      description: 'Requests and health checks to the control-plane replicas',
      ipProtocol: 'tcp',
      fromPort: props.port,
      toPort: props.port,
      referencedSecurityGroupId: props.targetSecurityGroupId,
    });
    new VpcSecurityGroupIngressRule(this, 'target-ingress', {
      securityGroupId: props.targetSecurityGroupId,
      description: 'MeshGate control-plane API, from the load balancer only',
      ipProtocol: 'tcp',
      fromPort: props.port,
      toPort: props.port,
      referencedSecurityGroupId: this.securityGroup.id,
    });

    this.lb = new Lb(this, 'lb', {
      name: props.name,
      loadBalancerType: 'application',
      internal: false,
      securityGroups: [this.securityGroup.id],
      subnets: props.subnetIds,
      idleTimeout: LB_IDLE_TIMEOUT_SECONDS,
      dropInvalidHeaderFields: true,
      tags: { Name: props.name },
    });
    this.targetGroup = new LbTargetGroup(this, 'replicas', {
      name: props.name,
      port: props.port,
      protocol: 'HTTP',
      targetType: 'instance',
      vpcId: props.vpcId,
      // A replica leaving drops its streams; agents reconnect elsewhere at once, so waiting longer buys nothing.
      deregistrationDelay: '30',
      stickiness: { type: 'lb_cookie', enabled: false },
      healthCheck: {
        enabled: true,
        path: READINESS_PATH,
        port: 'traffic-port',
        protocol: 'HTTP',
        matcher: '200',
        interval: 10,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
      tags: { Name: props.name },
    });
    new LbListener(this, 'api', {
      loadBalancerArn: this.lb.arn,
      port: props.port,
      protocol: 'HTTP',
      defaultAction: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
    });
  }

  /** Registers an instance as a target. */
  attach(id: string, instanceId: string): void {
    new LbTargetGroupAttachment(this, id, { targetGroupArn: this.targetGroup.arn, targetId: instanceId, port: this.port });
  }
}
