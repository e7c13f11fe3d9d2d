// Managed PostgreSQL (RDS) for the control plane's scale-out shape: two private subnets in two AZs (RDS needs a
// subnet group spanning two), reachable on 5432 from the control-plane security group only, never publicly.
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Construct } from 'constructs';

export const POSTGRES_PORT = 5432;
export const DATABASE_NAME = 'meshgate';
export const DATABASE_USER = 'meshgate';

export interface PostgresDatabaseProps {
  name: string;
  vpcId: string;
  /** Private subnets (no internet route: the VPC's main route table is local only), one per AZ, at least two. */
  subnets: { cidrBlock: string; availabilityZone: string }[];
  /** The only security group allowed to connect. */
  clientSecurityGroupId: string;
  instanceClass: string;
  storageGb: number;
  /** Token of the sensitive `database_password` variable. */
  password: string;
}

export class PostgresDatabase extends Construct {
  readonly instance: DbInstance;
  readonly securityGroup: SecurityGroup;
  /** `postgres://meshgate:<password>@<address>:5432/meshgate`, with Terraform expressions for the unknowns. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: PostgresDatabaseProps) {
    super(scope, id);
    const subnets = props.subnets.map(
      (subnet, index) =>
        new Subnet(this, `private-subnet-${index}`, {
          vpcId: props.vpcId,
          cidrBlock: subnet.cidrBlock,
          availabilityZone: subnet.availabilityZone,
          mapPublicIpOnLaunch: false,
          tags: { Name: `${props.name}-db-${index}` },
        }),
    );
    const subnetGroup = new DbSubnetGroup(this, 'subnet-group', {
      name: `${props.name}-db`,
      description: `MeshGate ${props.name} database subnets`,
      subnetIds: subnets.map((subnet) => subnet.id),
      tags: { Name: `${props.name}-db` },
    });
    // No egress rules: the database never dials out.
    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: `${props.name}-db`,
      description: `MeshGate ${props.name} database`,
      vpcId: props.vpcId,
      tags: { Name: `${props.name}-db` },
    });
    new VpcSecurityGroupIngressRule(this, 'ingress-control-plane', {
      securityGroupId: this.securityGroup.id,
      description: 'PostgreSQL from the control-plane instances only',
      ipProtocol: 'tcp',
      fromPort: POSTGRES_PORT,
      toPort: POSTGRES_PORT,
      referencedSecurityGroupId: props.clientSecurityGroupId,
    });
    this.instance = new DbInstance(this, 'postgres', {
      identifier: `${props.name}-db`,
      engine: 'postgres',
      // Major version only: RDS picks the current minor and autoMinorVersionUpgrade keeps it patched.
      engineVersion: '15',
      autoMinorVersionUpgrade: true,
      instanceClass: props.instanceClass,
      allocatedStorage: props.storageGb,
      storageType: 'gp3',
      storageEncrypted: true,
      dbName: DATABASE_NAME,
      username: DATABASE_USER,
      password: props.password,
      port: POSTGRES_PORT,
      dbSubnetGroupName: subnetGroup.name,
      vpcSecurityGroupIds: [this.securityGroup.id],
      publiclyAccessible: false,
      // The event log is the audit record: keep backups, refuse an accidental destroy, snapshot on a deliberate one.
      backupRetentionPeriod: 7,
      copyTagsToSnapshot: true,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${props.name}-db-final`,
      tags: { Name: `${props.name}-db` },
    });
    this.url = `postgres://${DATABASE_USER}:${props.password}@${this.instance.address}:${POSTGRES_PORT}/${DATABASE_NAME}`;
  }
}
