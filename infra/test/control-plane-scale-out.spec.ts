import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { STACK_NAMES } from '../src/app';
import { SECRET_VARS_FILE, writeSecretVarFiles } from '../src/secrets';
import { ControlPlaneStack } from '../src/stacks/control-plane-stack';
import { danglingReferences, file, only, parseCloudConfig, resources, synthStack, Synthesized, testConfig, TerraformJson } from './helpers';

const JWT = 'jwt-SCALEOUT-TESTSECRET-7f1c2d9e0a4b5c6d';
const DB_PASSWORD = 'dbpw-SCALEOUT-TESTSECRET-5521';

/** `${aws_x.name.attr}` → the resource it names, from the same stack. */
function referenced(json: TerraformJson, expression: string): TerraformJson {
  const m = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(expression);
  if (!m) throw new Error(`not a plain reference: ${expression}`);
  const found = resources(json, m[1])[m[2]];
  if (!found) throw new Error(`no ${m[1]}.${m[2]}`);
  return found;
}

const ref = (type: string, json: TerraformJson, resource: TerraformJson, attr = 'id') => {
  const name = Object.entries(resources(json, type)).find(([, r]) => r === resource)?.[0];
  if (!name) throw new Error(`resource not of type ${type}`);
  return `\${${type}.${name}.${attr}}`;
};

describe('control-plane stack, scale-out (control_plane_replicas = 3)', () => {
  let s: Synthesized;
  let json: TerraformJson;
  beforeAll(() => {
    s = synthStack('controlPlane', {
      control_plane_replicas: '3',
      api_allowed_cidrs: '192.0.2.0/24',
      ssh_allowed_cidrs: '203.0.113.0/24',
      jwt_secret: JWT,
      database_password: DB_PASSWORD,
      meshgate_repo_url: 'https://git.example.com/meshgate/meshgate.git',
    });
    json = s.json;
  });
  const instances = () => Object.values(resources(json, 'aws_instance'));
  const securityGroup = (suffix: string) => Object.values(resources(json, 'aws_security_group')).find((g) => g.name === `meshgate-control-plane${suffix}`)!;
  const rulesOf = (type: string, group: TerraformJson) =>
    Object.values(resources(json, type)).filter((r) => r.security_group_id === ref('aws_security_group', json, group));

  it('runs three instances spread over two public subnets in two AZs, with no data volume or Elastic IP', () => {
    expect(instances()).toHaveLength(3);
    const subnets = instances().map((i) => referenced(json, i.subnet_id));
    expect(new Set(subnets.map((subnet) => subnet.availability_zone))).toEqual(
      new Set(['us-east-1a', '${element(data.aws_availability_zones.other-zones.names, 0)}']),
    );
    expect(subnets.every((subnet) => subnet.map_public_ip_on_launch === true)).toBe(true);
    expect(json.data.aws_availability_zones['other-zones']).toMatchObject({ state: 'available', exclude_names: ['us-east-1a'] });
    expect(new Set(instances().map((i) => i.user_data)).size).toBe(1);
    for (const type of ['aws_ebs_volume', 'aws_volume_attachment', 'aws_eip']) expect(resources(json, type)).toEqual({});
    expect(Object.keys(resources(json, 'aws_cloudwatch_metric_alarm'))).toHaveLength(3);
  });

  it('puts them behind an application load balancer with an idle timeout for SSE, no stickiness, and /health/ready checks', () => {
    const lb = only(json, 'aws_lb');
    expect(lb).toMatchObject({ load_balancer_type: 'application', internal: false });
    expect(lb.idle_timeout).toBeGreaterThanOrEqual(3600);
    expect(lb.subnets.map((id: string) => referenced(json, id).availability_zone)).toHaveLength(2);
    const group = only(json, 'aws_lb_target_group');
    expect(group).toMatchObject({ port: 8080, protocol: 'HTTP', target_type: 'instance', stickiness: { enabled: false } });
    expect(group.health_check).toMatchObject({ enabled: true, path: '/health/ready', matcher: '200', port: 'traffic-port' });
    expect(only(json, 'aws_lb_listener')).toMatchObject({
      port: 8080,
      protocol: 'HTTP',
      load_balancer_arn: ref('aws_lb', json, lb, 'arn'),
      default_action: [{ type: 'forward', target_group_arn: ref('aws_lb_target_group', json, group, 'arn') }],
    });
    const attachments = Object.values(resources(json, 'aws_lb_target_group_attachment'));
    expect(attachments.map((a) => a.target_id).sort()).toEqual(instances().map((i) => ref('aws_instance', json, i)).sort());
    expect(json.output.control_plane_url.value).toBe(`http://\${${ref('aws_lb', json, lb, 'dns_name').slice(2, -1)}}:8080`);
  });

  it('keeps the managed PostgreSQL 15 encrypted, private, and in two private subnets', () => {
    const db = only(json, 'aws_db_instance');
    expect(db).toMatchObject({
      engine: 'postgres',
      engine_version: '15',
      storage_encrypted: true,
      publicly_accessible: false,
      deletion_protection: true,
      skip_final_snapshot: false,
      username: 'meshgate',
      db_name: 'meshgate',
      password: '${var.database_password}',
    });
    const subnetGroup = referenced(json, db.db_subnet_group_name);
    const subnets = subnetGroup.subnet_ids.map((id: string) => referenced(json, id));
    expect(subnets).toHaveLength(2);
    expect(new Set(subnets.map((subnet: TerraformJson) => subnet.availability_zone)).size).toBe(2);
    expect(subnets.every((subnet: TerraformJson) => subnet.map_public_ip_on_launch === false)).toBe(true);
    // Not in the public route table: the VPC's main table has only the local route.
    const routed = Object.values(resources(json, 'aws_route_table_association')).map((a) => a.subnet_id);
    expect(routed.filter((id: string) => subnetGroup.subnet_ids.includes(id))).toEqual([]);
    expect(json.variable.database_password).toMatchObject({ sensitive: true });
    expect(json.variable.database_password.default).toBeUndefined();
  });

  it('lets only the control plane reach the database, and only the load balancer reach the API', () => {
    const replicas = securityGroup('');
    const database = securityGroup('-db');
    const lb = securityGroup('-lb');
    expect(instances().every((i) => i.vpc_security_group_ids.length === 1 && i.vpc_security_group_ids[0] === ref('aws_security_group', json, replicas))).toBe(true);
    expect(only(json, 'aws_db_instance').vpc_security_group_ids).toEqual([ref('aws_security_group', json, database)]);
    expect(only(json, 'aws_lb').security_groups).toEqual([ref('aws_security_group', json, lb)]);

    const strip = (r: TerraformJson) => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4 ?? r.referenced_security_group_id];
    expect(rulesOf('aws_vpc_security_group_ingress_rule', database).map(strip)).toEqual([['tcp', 5432, 5432, ref('aws_security_group', json, replicas)]]);
    expect(rulesOf('aws_vpc_security_group_egress_rule', database)).toEqual([]);
    expect(rulesOf('aws_vpc_security_group_ingress_rule', replicas).map(strip).sort()).toEqual([
      ['tcp', 22, 22, '203.0.113.0/24'],
      ['tcp', 8080, 8080, ref('aws_security_group', json, lb)],
    ]);
    expect(rulesOf('aws_vpc_security_group_ingress_rule', lb).map(strip)).toEqual([['tcp', 8080, 8080, '192.0.2.0/24']]);
    expect(rulesOf('aws_vpc_security_group_egress_rule', lb).map(strip)).toEqual([['tcp', 8080, 8080, ref('aws_security_group', json, replicas)]]);
  });

  it('passes DATABASE_URL and the shared JWT secret to every replica in the root-only env file', () => {
    const config = parseCloudConfig(instances()[0].user_data);
    const db = ref('aws_db_instance', json, only(json, 'aws_db_instance'), 'address').slice(2, -1);
    expect(file(config, '/etc/meshgate/control-plane.env')).toMatchObject({
      permissions: '0600',
      encoding: 'b64',
      content: `\${base64encode("JWT_SECRET=\${var.jwt_secret}\nDATABASE_URL=postgres://meshgate:\${var.database_password}@\${${db}}:5432/meshgate")}`,
    });
    const unit = file(config, '/etc/systemd/system/meshgate-control-plane.service').content;
    expect(unit).not.toContain('DATABASE_PATH');
    expect(unit).not.toContain('RequiresMountsFor');
    expect(unit).toContain('StateDirectory=meshgate-control-plane');
    expect(config.write_files.map((f) => f.path)).not.toContain('/usr/local/sbin/meshgate-data-volume');
    expect(config.runcmd[0]).toEqual(['/usr/local/sbin/meshgate-install']);
    // Liveness only: readiness (the database) is the load balancer's call.
    expect(file(config, '/usr/local/sbin/meshgate-control-plane-health').content).toContain('http://127.0.0.1:8080/health/live');
    // Replicas must share the secret, so it is required here (no generated fallback).
    expect(json.variable.jwt_secret).toMatchObject({ sensitive: true });
    expect(json.variable.jwt_secret.default).toBeUndefined();
    expect(json.variable.jwt_secret.validation[0].condition).toContain('{32,}$');
  });

  it('never puts the JWT secret or the database password in the synthesized JSON', () => {
    expect(s.text).not.toContain(JWT);
    expect(s.text).not.toContain(DB_PASSWORD);
  });

  it('refers only to what the stack declares', () => {
    expect(danglingReferences(json)).toEqual([]);
  });
});

describe('control-plane stack, control_plane_database = postgres with one replica', () => {
  it('has RDS, the load balancer and one instance', () => {
    const { json } = synthStack('controlPlane', { control_plane_database: 'postgres', control_plane_db_instance_class: 'db.m7g.large', control_plane_db_storage_gb: '100' });
    expect(Object.keys(resources(json, 'aws_instance'))).toEqual(['control-plane-0']);
    expect(only(json, 'aws_db_instance')).toMatchObject({ instance_class: 'db.m7g.large', allocated_storage: 100, storage_type: 'gp3' });
    expect(Object.keys(resources(json, 'aws_lb_target_group_attachment'))).toHaveLength(1);
    // No api_allowed_cidrs: the listener is closed, as the single instance's API is by default.
    expect(Object.values(resources(json, 'aws_vpc_security_group_ingress_rule')).filter((r) => r.cidr_ipv4)).toEqual([]);
  });
});

describe('control-plane secrets (scale-out)', () => {
  it('hands the database password and the JWT secret to Terraform in the root-only tfvars file', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'meshgate-infra-scale-out-'));
    try {
      const config = testConfig({ control_plane_replicas: '2', jwt_secret: JWT, database_password: DB_PASSWORD });
      const app = new App({ outdir, stackTraces: false });
      const stack = new ControlPlaneStack(app, STACK_NAMES.controlPlane, config);
      app.synth();
      writeSecretVarFiles(outdir, [stack], config.secrets);
      expect(readFileSync(join(outdir, 'stacks', 'control-plane', 'cdk.tf.json'), 'utf8')).not.toContain(DB_PASSWORD);
      expect(JSON.parse(readFileSync(join(outdir, 'stacks', 'control-plane', SECRET_VARS_FILE), 'utf8'))).toEqual({
        jwt_secret: JWT,
        database_password: DB_PASSWORD,
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
