import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, isIpv4Cidr, loadConfig, parseConfigFile } from '../src/config';
import { testConfig } from './helpers';

describe('config', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-infra-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function withFile(text: string, env: NodeJS.ProcessEnv = {}) {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, text);
    return loadConfig({ env, configFile: path });
  }

  function errorOf(settings: Record<string, string>): ConfigError {
    try {
      testConfig(settings);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('has the defaults users of the original knew, with nothing open but WireGuard', () => {
    const config = testConfig();
    expect(config).toMatchObject({
      awsRegion: 'us-east-1',
      awsAvailabilityZone: 'us-east-1a',
      awsInstanceType: 't3.micro',
      awsNodeCount: 1,
      gcpRegion: 'us-east1',
      gcpZone: 'us-east1-b',
      gcpMachineType: 'e2-micro',
      gcpNodeCount: 1,
      sshAllowedCidrs: [],
      apiAllowedCidrs: [],
      meshgateVersion: 'main',
      stateBackend: 'local',
      secrets: {},
    });
    expect(config.awsKeyName).toBeUndefined();
    expect(config.controlPlaneUrl).toBeUndefined();
    expect(config.gcpProject).toBeUndefined();
  });

  it('reads a key = value file with comments, quotes and lists', () => {
    const config = withFile(
      [
        '# MeshGate infra settings',
        'aws_region = "eu-west-1"',
        "aws_key_name = 'ops key'",
        'gcp_project = my-mesh-project',
        'ssh_allowed_cidrs = ["203.0.113.0/24", "198.51.100.7/32"]',
        'api_allowed_cidrs = 0.0.0.0/0',
        'agent_tags = web,db',
        '',
        'aws_node_count = 3',
      ].join('\n'),
    );
    expect(config.awsRegion).toBe('eu-west-1');
    expect(config.awsAvailabilityZone).toBe('eu-west-1a');
    expect(config.awsKeyName).toBe('ops key');
    expect(config.gcpProject).toBe('my-mesh-project');
    expect(config.sshAllowedCidrs).toEqual(['203.0.113.0/24', '198.51.100.7/32']);
    expect(config.apiAllowedCidrs).toEqual(['0.0.0.0/0']);
    expect(config.agentTags).toEqual(['web', 'db']);
    expect(config.awsNodeCount).toBe(3);
  });

  it('lets MESHGATE_* env beat lowercase env, which beats the file', () => {
    const file = 'aws_region = eu-west-1\ngcp_region = europe-west1\ngcp_zone = europe-west1-b\naws_instance_type = t3.large';
    const config = withFile(file, { aws_region: 'eu-central-1', MESHGATE_AWS_REGION: 'ap-south-1', gcp_zone: 'europe-west1-c' });
    expect(config.awsRegion).toBe('ap-south-1');
    expect(config.gcpZone).toBe('europe-west1-c');
    expect(config.gcpRegion).toBe('europe-west1');
    expect(config.awsInstanceType).toBe('t3.large');
  });

  it('reads the file named by MESHGATE_CONFIG_FILE', () => {
    const path = join(dir, 'named');
    writeFileSync(path, 'gcp_node_count = 4\n');
    expect(loadConfig({ env: { MESHGATE_CONFIG_FILE: path } }).gcpNodeCount).toBe(4);
  });

  it('rejects an unknown key in the file, naming it', () => {
    expect(() => parseConfigFile('aws_regoin = us-east-2\n')).toThrow(/aws_regoin/);
    expect(() => parseConfigFile('just words\n', 'infra/config')).toThrow(/infra\/config:1/);
  });

  it.each([
    [{ aws_node_count: '-1' }, 'aws_node_count'],
    [{ gcp_node_count: 'two' }, 'gcp_node_count'],
    [{ aws_region: 'us east' }, 'aws_region'],
    [{ gcp_zone: 'europe-west1-b' }, 'gcp_zone'],
    [{ aws_availability_zone: 'eu-west-1a' }, 'aws_availability_zone'],
    [{ ssh_allowed_cidrs: '10.0.0.1/8' }, 'ssh_allowed_cidrs'],
    [{ api_allowed_cidrs: 'everyone' }, 'api_allowed_cidrs'],
    [{ control_plane_url: 'ftp://cp.example.com' }, 'control_plane_url'],
    [{ control_plane_url: 'https://user:pw@cp.example.com' }, 'control_plane_url'],
    [{ tenant_id: "acme'; rm -rf /" }, 'tenant_id'],
    [{ meshgate_version: 'main; reboot' }, 'meshgate_version'],
    [{ meshgate_repo_url: 'file:///etc' }, 'meshgate_repo_url'],
    [{ agent_tags: 'Web' }, 'agent_tags'],
    [{ state_backend: 'consul' }, 'state_backend'],
    [{ state_backend: 's3' }, 'state_bucket'],
    [{ name_prefix: 'Mesh' }, 'name_prefix'],
    [{ jwt_secret: 'too-short-for-the-control-plane' }, 'jwt_secret'],
    [{ control_plane_replicas: '0' }, 'control_plane_replicas'],
    [{ control_plane_replicas: '21' }, 'control_plane_replicas'],
    [{ control_plane_database: 'mysql' }, 'control_plane_database'],
    [{ control_plane_database: 'sqlite', control_plane_replicas: '2' }, 'control_plane_database'],
    [{ control_plane_db_instance_class: 't3.micro' }, 'control_plane_db_instance_class'],
    [{ control_plane_db_storage_gb: '10' }, 'control_plane_db_storage_gb'],
    [{ database_password: 'short-pw' }, 'database_password'],
  ])('fails on %p naming %s', (settings, key) => {
    const error = errorOf(settings);
    expect(error.key).toBe(key);
    expect(error.message).toContain(key);
  });

  it('runs the control plane on SQLite with one replica unless told otherwise; several replicas imply PostgreSQL', () => {
    expect(testConfig()).toMatchObject({
      controlPlaneReplicas: 1,
      controlPlaneDatabase: 'sqlite',
      controlPlaneDbInstanceClass: 'db.t4g.micro',
      controlPlaneDbStorageGb: 20,
    });
    expect(testConfig({ control_plane_replicas: '3' })).toMatchObject({ controlPlaneReplicas: 3, controlPlaneDatabase: 'postgres' });
    expect(testConfig({ control_plane_database: 'postgres' })).toMatchObject({ controlPlaneReplicas: 1, controlPlaneDatabase: 'postgres' });
  });

  it('refuses a database password that could not go into DATABASE_URL as is, without echoing it', () => {
    for (const bad of ['has@at-SECRETVALUE-1234', 'has/slash-SECRETVALUE-1234', 'has:colon-SECRETVALUE-123']) {
      const error = errorOf({ database_password: bad });
      expect(error.key).toBe('database_password');
      expect(error.message).not.toContain('SECRETVALUE');
    }
    expect(testConfig({ database_password: 'Abc-123_xyz.789~qq' }).secrets.database_password).toBe('Abc-123_xyz.789~qq');
  });

  it('refuses a malformed secret without echoing it', () => {
    const error = errorOf({ enrollment_key: 'has"quote-SECRETVALUE' });
    expect(error.key).toBe('enrollment_key');
    expect(error.message).not.toContain('SECRETVALUE');
  });

  it('keeps secrets apart from the rest of the settings', () => {
    const jwt = 'j'.repeat(32);
    const config = testConfig({ enrollment_key: 'mgk_abc123', jwt_secret: jwt });
    expect(config.secrets).toEqual({ enrollment_key: 'mgk_abc123', jwt_secret: jwt });
  });

  it('recognises IPv4 CIDRs', () => {
    expect(isIpv4Cidr('0.0.0.0/0')).toBe(true);
    expect(isIpv4Cidr('203.0.113.0/24')).toBe(true);
    expect(isIpv4Cidr('198.51.100.7/32')).toBe(true);
    expect(isIpv4Cidr('203.0.113.5/24')).toBe(false);
    expect(isIpv4Cidr('256.0.0.0/8')).toBe(false);
    expect(isIpv4Cidr('10.0.0.0/33')).toBe(false);
    expect(isIpv4Cidr('10.0.0.0')).toBe(false);
  });
});
