// Agents on EC2: a small public network, the shared firewall rules, Ubuntu 22.04 instances running the agent.
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsNetwork } from '../aws/network';
import { ubuntuJammyAmi } from '../aws/ubuntu-ami';
import { configureBackend } from '../backend';
import type { InfraConfig } from '../config';
import { agentCloudInit } from '../shared/cloud-init';
import { ingressRules } from '../shared/firewall-rules';
import { agentInputs, nodeName } from './agent-inputs';

export class AwsAgentsStack extends TerraformStack {
  readonly instances: Instance[] = [];

  constructor(scope: Construct, id: string, config: InfraConfig) {
    super(scope, id);
    configureBackend(this, id, config);
    new AwsProvider(this, 'aws', {
      region: config.awsRegion,
      defaultTags: [{ tags: { Project: config.namePrefix, Component: 'agent', ManagedBy: 'cdktf' } }],
    });

    const network = new AwsNetwork(this, 'network', {
      name: `${config.namePrefix}-agents`,
      availabilityZone: config.awsAvailabilityZone,
      vpcCidr: '10.40.0.0/16',
      subnetCidr: '10.40.1.0/24',
      ingress: ingressRules(config, 'agent'),
    });
    const ami = ubuntuJammyAmi(this);
    const inputs = agentInputs(this, config);

    for (let index = 0; index < config.awsNodeCount; index++) {
      const name = nodeName(config, 'aws', index);
      this.instances.push(
        new Instance(this, `agent-${index}`, {
          ami: ami.id,
          instanceType: config.awsInstanceType,
          keyName: config.awsKeyName,
          subnetId: network.subnet.id,
          vpcSecurityGroupIds: [network.securityGroup.id],
          associatePublicIpAddress: true,
          metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required' },
          rootBlockDevice: { volumeSize: 16, volumeType: 'gp3', encrypted: true },
          userData: agentCloudInit({ ...inputs, cloud: 'aws', nodeName: name }),
          // The user data is the node's whole configuration: a change means a fresh node, not a drifted one.
          userDataReplaceOnChange: true,
          // A newer AMI alone must not replace running nodes; they patch themselves with unattended-upgrades.
          lifecycle: { ignoreChanges: ['ami'] },
          tags: { Name: name },
        }),
      );
    }

    new TerraformOutput(this, 'agent_public_ips', {
      description: 'Public IPv4 addresses of the AWS agents (their WireGuard endpoints)',
      value: this.instances.map((instance) => instance.publicIp),
    });
  }
}
