// The control plane, in one of two shapes (config `control_plane_database`, implied by `control_plane_replicas`):
//
// sqlite (default): one EC2 instance. Its SQLite database lives on a separate EBS volume so that replacing the
// instance (new user data, new AMI) keeps the event log. An Elastic IP keeps its URL stable across replacements.
// Health, in two layers:
//  - in the instance, a systemd timer GETs /health every 30 s and restarts the service after 3 failures in a row
//    (systemd's Restart=always already covers crashes; this covers a hung process);
//  - outside it, a CloudWatch alarm on the EC2 system status check triggers EC2 auto-recovery, which moves the
//    instance to healthy hardware keeping its IP and volumes.
// No load balancer or Route 53 check: with one instance there is nothing to fail over to, and the API is closed to
// the internet by default, where Route 53's checkers live.
//
// postgres: `replicas` instances spread over two AZs, all on one RDS PostgreSQL (DATABASE_URL in their cloud-init),
// behind an application load balancer (see ../aws/load-balancer.ts) that health-checks /health/ready. No data
// volume and no Elastic IP: the load balancer's DNS name is the URL. The replicas take the API port from the load
// balancer only; the database takes 5432 from the replicas only. Auto-recovery alarms stay, one per instance.
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones';
import type { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { EbsVolume } from '@cdktf/provider-aws/lib/ebs-volume';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import type { Lb } from '@cdktf/provider-aws/lib/lb';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { VolumeAttachment } from '@cdktf/provider-aws/lib/volume-attachment';
import { Fn, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { ControlPlaneLoadBalancer } from '../aws/load-balancer';
import { AwsNetwork } from '../aws/network';
import { PostgresDatabase } from '../aws/postgres-database';
import { ubuntuJammyAmi } from '../aws/ubuntu-ami';
import { configureBackend } from '../backend';
import type { InfraConfig } from '../config';
import { controlPlaneCloudInit } from '../shared/cloud-init';
import { CONTROL_PLANE_PORT, ingressRules } from '../shared/firewall-rules';
import { secretVariable, SHARED_JWT_SECRET_PATTERN } from '../variables';
import { repoUrl } from './agent-inputs';

export class ControlPlaneStack extends TerraformStack {
  readonly instances: Instance[];
  /** sqlite shape only. */
  readonly dataVolume?: EbsVolume;
  /** postgres shape only. */
  readonly database?: DbInstance;
  readonly loadBalancer?: Lb;

  constructor(scope: Construct, id: string, config: InfraConfig) {
    super(scope, id);
    configureBackend(this, id, config);
    new AwsProvider(this, 'aws', {
      region: config.awsRegion,
      defaultTags: [{ tags: { Project: config.namePrefix, Component: 'control-plane', ManagedBy: 'cdktf' } }],
    });
    const name = `${config.namePrefix}-control-plane`;
    if (config.controlPlaneDatabase === 'postgres') {
      const { instances, database, loadBalancer } = this.scaleOut(config, name);
      this.instances = instances;
      this.database = database;
      this.loadBalancer = loadBalancer;
    } else {
      const { instance, dataVolume } = this.single(config, name);
      this.instances = [instance];
      this.dataVolume = dataVolume;
    }
  }

  private single(config: InfraConfig, name: string) {
    const network = new AwsNetwork(this, 'network', {
      name,
      availabilityZone: config.awsAvailabilityZone,
      vpcCidr: '10.42.0.0/16',
      subnetCidr: '10.42.1.0/24',
      ingress: ingressRules(config, 'control-plane'),
    });

    const dataVolume = new EbsVolume(this, 'data', {
      availabilityZone: config.awsAvailabilityZone,
      size: config.controlPlaneVolumeGb,
      type: 'gp3',
      encrypted: true,
      tags: { Name: `${name}-data` },
    });
    const jwtSecret = secretVariable(this, 'jwt_secret', 'Secret the control plane signs JWTs with; empty lets it generate one', true);

    const instance = new Instance(this, 'control-plane', {
      ...instanceBasics(ubuntuJammyAmi(this).id, config, network.securityGroup.id),
      subnetId: network.subnet.id,
      userData: controlPlaneCloudInit({
        repoUrl: repoUrl(this, config),
        version: config.meshgateVersion,
        jwtSecret: jwtSecret.stringValue,
        // The Elastic IP is attached after the instance exists: its start script reads the address from the metadata.
        publicUrl: null,
        // Nitro instances expose EBS as NVMe named after the volume id; Xen ones keep the requested name.
        dataDevices: [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${Fn.replace(dataVolume.id, '-', '')}`, '/dev/xvdf'],
      }),
      tags: { Name: name },
    });
    new VolumeAttachment(this, 'data-attachment', {
      deviceName: '/dev/xvdf',
      volumeId: dataVolume.id,
      instanceId: instance.id,
      // Stop the instance before detaching so SQLite is never cut off mid-write during a replacement.
      stopInstanceBeforeDetaching: true,
    });
    const address = new Eip(this, 'address', { domain: 'vpc', instance: instance.id, tags: { Name: name } });
    autoRecoverAlarm(this, 'auto-recover', `${name}-auto-recover`, instance, config);

    new TerraformOutput(this, 'control_plane_url', {
      description: 'Set this as control_plane_url for the agent stacks',
      value: `http://${address.publicIp}:${CONTROL_PLANE_PORT}`,
    });
    new TerraformOutput(this, 'control_plane_public_ip', { value: address.publicIp });
    return { instance, dataVolume };
  }

  private scaleOut(config: InfraConfig, name: string) {
    const network = new AwsNetwork(this, 'network', {
      name,
      availabilityZone: config.awsAvailabilityZone,
      vpcCidr: '10.42.0.0/16',
      subnetCidr: '10.42.1.0/24',
      // The API port comes from the load balancer's security group instead (see ControlPlaneLoadBalancer).
      ingress: ingressRules(config, 'control-plane').filter((rule) => rule.name !== 'api'),
    });
    // A second AZ for the load balancer and the database subnet group: any available one (no Local Zones) but ours.
    const zones = new DataAwsAvailabilityZones(this, 'other-zones', {
      state: 'available',
      excludeNames: [config.awsAvailabilityZone],
      filter: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }],
    });
    const secondZone = Fn.element(zones.names, 0);
    const secondSubnet = network.addPublicSubnet('public-subnet-2', '10.42.2.0/24', secondZone, `${name}-public-2`);
    const subnets = [network.subnet, secondSubnet];

    const database = new PostgresDatabase(this, 'database', {
      name,
      vpcId: network.vpc.id,
      subnets: [
        { cidrBlock: '10.42.11.0/24', availabilityZone: config.awsAvailabilityZone },
        { cidrBlock: '10.42.12.0/24', availabilityZone: secondZone },
      ],
      clientSecurityGroupId: network.securityGroup.id,
      instanceClass: config.controlPlaneDbInstanceClass,
      storageGb: config.controlPlaneDbStorageGb,
      password: secretVariable(this, 'database_password', 'Password of the RDS user meshgate: 16 to 128 of A-Z a-z 0-9 . _ ~ -').stringValue,
    });
    const loadBalancer = new ControlPlaneLoadBalancer(this, 'load-balancer', {
      name,
      vpcId: network.vpc.id,
      subnetIds: subnets.map((subnet) => subnet.id),
      port: CONTROL_PLANE_PORT,
      allowedCidrs: config.apiAllowedCidrs,
      targetSecurityGroupId: network.securityGroup.id,
    });
    // Required here, with no generated fallback: every replica must accept the tokens the others sign.
    const jwtSecret = secretVariable(
      this, 'jwt_secret', 'Secret every control-plane replica signs JWTs with (at least 32 characters)', false, SHARED_JWT_SECRET_PATTERN,
    );
    const userData = controlPlaneCloudInit({
      repoUrl: repoUrl(this, config),
      version: config.meshgateVersion,
      jwtSecret: jwtSecret.stringValue,
      databaseUrl: database.url,
      publicUrl: `http://${loadBalancer.lb.dnsName}:${CONTROL_PLANE_PORT}`,
    });

    const ami = ubuntuJammyAmi(this).id;
    const instances = Array.from({ length: config.controlPlaneReplicas }, (_, index) => {
      const instance = new Instance(this, `control-plane-${index}`, {
        ...instanceBasics(ami, config, network.securityGroup.id),
        subnetId: subnets[index % subnets.length].id,
        userData,
        tags: { Name: `${name}-${index}` },
      });
      loadBalancer.attach(`replica-${index}`, instance.id);
      autoRecoverAlarm(this, `auto-recover-${index}`, `${name}-${index}-auto-recover`, instance, config);
      return instance;
    });

    new TerraformOutput(this, 'control_plane_url', {
      description: 'Set this as control_plane_url for the agent stacks',
      value: `http://${loadBalancer.lb.dnsName}:${CONTROL_PLANE_PORT}`,
    });
    new TerraformOutput(this, 'database_address', { description: 'RDS endpoint (reachable from the replicas only)', value: database.instance.address });
    return { instances, database: database.instance, loadBalancer: loadBalancer.lb };
  }
}

/** What every control-plane instance shares, whichever shape. */
function instanceBasics(amiId: string, config: InfraConfig, securityGroupId: string) {
  return {
    ami: amiId,
    instanceType: config.controlPlaneInstanceType,
    keyName: config.awsKeyName,
    vpcSecurityGroupIds: [securityGroupId],
    metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required' },
    rootBlockDevice: { volumeSize: 16, volumeType: 'gp3', encrypted: true },
    userDataReplaceOnChange: true,
    lifecycle: { ignoreChanges: ['ami'] },
  };
}

function autoRecoverAlarm(stack: TerraformStack, id: string, alarmName: string, instance: Instance, config: InfraConfig): void {
  new CloudwatchMetricAlarm(stack, id, {
    alarmName,
    alarmDescription: 'Recover the control-plane instance when its host fails the EC2 system status check',
    namespace: 'AWS/EC2',
    metricName: 'StatusCheckFailed_System',
    dimensions: { InstanceId: instance.id },
    statistic: 'Maximum',
    period: 60,
    evaluationPeriods: 2,
    comparisonOperator: 'GreaterThanThreshold',
    threshold: 0,
    alarmActions: [`arn:aws:automate:${config.awsRegion}:ec2:recover`],
  });
}
