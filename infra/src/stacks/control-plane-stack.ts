// The control plane on one EC2 instance. Its SQLite database lives on a separate EBS volume so that replacing the
// instance (new user data, new AMI) keeps the event log. An Elastic IP keeps its URL stable across replacements.
//
// Health, in two layers:
//  - in the instance, a systemd timer GETs /health every 30 s and restarts the service after 3 failures in a row
//    (systemd's Restart=always already covers crashes; this covers a hung process);
//  - outside it, a CloudWatch alarm on the EC2 system status check triggers EC2 auto-recovery, which moves the
//    instance to healthy hardware keeping its IP and volumes.
// No load balancer or Route 53 check: with one instance there is nothing to fail over to, and the API is closed to
// the internet by default, where Route 53's checkers live.
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { EbsVolume } from '@cdktf/provider-aws/lib/ebs-volume';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { VolumeAttachment } from '@cdktf/provider-aws/lib/volume-attachment';
import { Fn, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsNetwork } from '../aws/network';
import { ubuntuJammyAmi } from '../aws/ubuntu-ami';
import { configureBackend } from '../backend';
import type { InfraConfig } from '../config';
import { controlPlaneCloudInit } from '../shared/cloud-init';
import { CONTROL_PLANE_PORT, ingressRules } from '../shared/firewall-rules';
import { secretVariable } from '../variables';
import { repoUrl } from './agent-inputs';

export class ControlPlaneStack extends TerraformStack {
  readonly instance: Instance;
  readonly dataVolume: EbsVolume;

  constructor(scope: Construct, id: string, config: InfraConfig) {
    super(scope, id);
    configureBackend(this, id, config);
    new AwsProvider(this, 'aws', {
      region: config.awsRegion,
      defaultTags: [{ tags: { Project: config.namePrefix, Component: 'control-plane', ManagedBy: 'cdktf' } }],
    });
    const name = `${config.namePrefix}-control-plane`;
    const network = new AwsNetwork(this, 'network', {
      name,
      availabilityZone: config.awsAvailabilityZone,
      vpcCidr: '10.42.0.0/16',
      subnetCidr: '10.42.1.0/24',
      ingress: ingressRules(config, 'control-plane'),
    });

    this.dataVolume = new EbsVolume(this, 'data', {
      availabilityZone: config.awsAvailabilityZone,
      size: config.controlPlaneVolumeGb,
      type: 'gp3',
      encrypted: true,
      tags: { Name: `${name}-data` },
    });
    const jwtSecret = secretVariable(this, 'jwt_secret', 'Secret the control plane signs JWTs with; empty lets it generate one', true);

    this.instance = new Instance(this, 'control-plane', {
      ami: ubuntuJammyAmi(this).id,
      instanceType: config.controlPlaneInstanceType,
      keyName: config.awsKeyName,
      subnetId: network.subnet.id,
      vpcSecurityGroupIds: [network.securityGroup.id],
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required' },
      rootBlockDevice: { volumeSize: 16, volumeType: 'gp3', encrypted: true },
      userData: controlPlaneCloudInit({
        repoUrl: repoUrl(this, config),
        version: config.meshgateVersion,
        jwtSecret: jwtSecret.stringValue,
        // Nitro instances expose EBS as NVMe named after the volume id; Xen ones keep the requested name.
        dataDevices: [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${Fn.replace(this.dataVolume.id, '-', '')}`, '/dev/xvdf'],
      }),
      userDataReplaceOnChange: true,
      lifecycle: { ignoreChanges: ['ami'] },
      tags: { Name: name },
    });
    new VolumeAttachment(this, 'data-attachment', {
      deviceName: '/dev/xvdf',
      volumeId: this.dataVolume.id,
      instanceId: this.instance.id,
      // Stop the instance before detaching so SQLite is never cut off mid-write during a replacement.
      stopInstanceBeforeDetaching: true,
    });
    const address = new Eip(this, 'address', { domain: 'vpc', instance: this.instance.id, tags: { Name: name } });

    new CloudwatchMetricAlarm(this, 'auto-recover', {
      alarmName: `${name}-auto-recover`,
      alarmDescription: 'Recover the control-plane instance when its host fails the EC2 system status check',
      namespace: 'AWS/EC2',
      metricName: 'StatusCheckFailed_System',
      dimensions: { InstanceId: this.instance.id },
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 2,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      alarmActions: [`arn:aws:automate:${config.awsRegion}:ec2:recover`],
    });

    new TerraformOutput(this, 'control_plane_url', {
      description: 'Set this as control_plane_url for the agent stacks',
      value: `http://${address.publicIp}:${CONTROL_PLANE_PORT}`,
    });
    new TerraformOutput(this, 'control_plane_public_ip', { value: address.publicIp });
  }
}
