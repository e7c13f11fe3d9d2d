// Settings for the infra app, read from (highest precedence first):
//   1. env MESHGATE_<KEY>   e.g. MESHGATE_AWS_REGION=eu-west-1
//   2. env <key>            e.g. aws_region=eu-west-1 (the names users of the original Terraform knew)
//   3. the file infra/config (or $MESHGATE_CONFIG_FILE), `key = value` lines
//   4. the defaults below.
// Everything is validated up front; a bad value fails synth with the key named.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type StateBackend = 'local' | 's3' | 'gcs';
/** sqlite: one instance with its database on an EBS volume. postgres: RDS, a load balancer and `replicas` instances. */
export type ControlPlaneDatabase = 'sqlite' | 'postgres';

export interface InfraConfig {
  namePrefix: string;
  awsRegion: string;
  awsAvailabilityZone: string;
  awsInstanceType: string;
  awsKeyName?: string;
  awsNodeCount: number;
  gcpProject?: string;
  gcpRegion: string;
  gcpZone: string;
  gcpMachineType: string;
  gcpNodeCount: number;
  sshAllowedCidrs: string[];
  apiAllowedCidrs: string[];
  /** Unset: a Terraform variable of the same name, required at deploy. */
  controlPlaneUrl?: string;
  tenantId?: string;
  meshgateRepoUrl?: string;
  meshgateVersion: string;
  agentTags: string[];
  controlPlaneInstanceType: string;
  controlPlaneVolumeGb: number;
  /** Control-plane instances; more than one needs (and implies) `controlPlaneDatabase: 'postgres'`. */
  controlPlaneReplicas: number;
  controlPlaneDatabase: ControlPlaneDatabase;
  controlPlaneDbInstanceClass: string;
  controlPlaneDbStorageGb: number;
  stateBackend: StateBackend;
  stateBucket?: string;
  statePrefix: string;
  stateRegion?: string;
  /** Sensitive: never rendered into the synthesized JSON, only handed to Terraform as variable values. */
  secrets: Secrets;
}

export interface Secrets {
  enrollment_key?: string;
  jwt_secret?: string;
  database_password?: string;
}

export class ConfigError extends Error {
  constructor(readonly key: string, message: string) {
    super(`invalid setting ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Every accepted key; anything else in the config file is a typo and is rejected. */
export const SETTING_KEYS = [
  'name_prefix',
  'aws_region',
  'aws_availability_zone',
  'aws_instance_type',
  'aws_key_name',
  'aws_node_count',
  'gcp_project',
  'gcp_region',
  'gcp_zone',
  'gcp_machine_type',
  'gcp_node_count',
  'ssh_allowed_cidrs',
  'api_allowed_cidrs',
  'control_plane_url',
  'tenant_id',
  'enrollment_key',
  'jwt_secret',
  'meshgate_repo_url',
  'meshgate_version',
  'agent_tags',
  'control_plane_instance_type',
  'control_plane_volume_gb',
  'control_plane_replicas',
  'control_plane_database',
  'control_plane_db_instance_class',
  'control_plane_db_storage_gb',
  'database_password',
  'state_backend',
  'state_bucket',
  'state_prefix',
  'state_region',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];
type RawSettings = Partial<Record<SettingKey, string>>;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of the key=value file; defaults to $MESHGATE_CONFIG_FILE or infra/config. */
  configFile?: string;
}

export function loadConfig(options: LoadOptions = {}): InfraConfig {
  const env = options.env ?? process.env;
  const file = options.configFile ?? env.MESHGATE_CONFIG_FILE ?? join(__dirname, '..', 'config');
  const fromFile = existsSync(file) ? parseConfigFile(readFileSync(file, 'utf8'), file) : {};
  const raw: RawSettings = {};
  for (const key of SETTING_KEYS) {
    const value = env[`MESHGATE_${key.toUpperCase()}`] ?? env[key] ?? fromFile[key];
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim();
  }
  return validate(raw);
}

/** `key = value` per line; `#` starts a comment; values may be quoted; lists are comma-separated, optionally in [ ]. */
export function parseConfigFile(text: string, source = 'config'): RawSettings {
  const out: RawSettings = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}:${index + 1}`, `expected "key = value", got "${trimmed}"`);
    const key = trimmed.slice(0, eq).trim();
    if (!(SETTING_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(key, `unknown key in ${source}:${index + 1} (known: ${SETTING_KEYS.join(', ')})`);
    }
    out[key as SettingKey] = unquote(trimmed.slice(eq + 1).trim());
  });
  return out;
}

function unquote(value: string): string {
  const m = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return m ? m[1] : value;
}

function list(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .replace(/^\[/, '')
    .replace(/\]$/, '')
    .split(',')
    .map((item) => unquote(item.trim()))
    .filter((item) => item !== '');
}

// Patterns are strict because most values end up inside shell scripts and cloud-init.
const PATTERNS = {
  name: /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/,
  awsRegion: /^[a-z]{2}(-[a-z]+)+-\d$/,
  awsZone: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/,
  gcpRegion: /^[a-z]+-[a-z]+\d+$/,
  gcpZone: /^[a-z]+-[a-z]+\d+-[a-z]$/,
  machineType: /^[a-z0-9][a-z0-9.-]*$/,
  dbInstanceClass: /^db\.[a-z0-9]+\.[a-z0-9]+$/,
  keyName: /^[\w .@+=,-]{1,255}$/,
  gcpProject: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
  tenantId: /^[A-Za-z0-9_-]{1,64}$/,
  gitRef: /^[A-Za-z0-9._/-]{1,100}$/,
  repoUrl: /^(https:\/\/|git@)[A-Za-z0-9._~:/@+-]+$/,
  /** The agent's TAG_PATTERN (libs/contracts), copied: infra is its own package. */
  tag: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  bucket: /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/,
  prefix: /^[A-Za-z0-9._/-]{1,100}$/,
  /** Safe inside a systemd EnvironmentFile line without quoting; also enforced as a Terraform variable validation. */
  secret: /^[A-Za-z0-9._~+/=:@%,-]+$/,
  /** Goes into DATABASE_URL unencoded, so URL-unreserved characters only (RDS also refuses / @ " and space). */
  databasePassword: /^[A-Za-z0-9._~-]{16,128}$/,
};

function check(key: SettingKey, value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new ConfigError(key, `${what}, got "${value}"`);
  return value;
}

function optional(raw: RawSettings, key: SettingKey, pattern: RegExp, what: string): string | undefined {
  const value = raw[key];
  return value === undefined ? undefined : check(key, value, pattern, what);
}

/** Like optional(), but the error never echoes the value. */
function secret(raw: RawSettings, key: SettingKey): string | undefined {
  const value = raw[key];
  if (key === 'database_password' && value !== undefined && !PATTERNS.databasePassword.test(value)) {
    throw new ConfigError(key, 'must be 16 to 128 characters from A-Z a-z 0-9 and . _ ~ - (it goes into DATABASE_URL as is)');
  }
  if (value !== undefined && !PATTERNS.secret.test(value)) {
    throw new ConfigError(key, 'may only contain A-Z a-z 0-9 and . _ ~ + / = : @ % , -');
  }
  // The control plane refuses shorter JWT secrets at boot; better to hear it at synth.
  if (key === 'jwt_secret' && value !== undefined && value.length < 32) {
    throw new ConfigError(key, 'must be at least 32 characters');
  }
  return value;
}

function integer(raw: RawSettings, key: SettingKey, fallback: number, min: number, max: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(key, `must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

export function isIpv4Cidr(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return false;
  // Reject host bits set (1.2.3.4/24): AWS refuses them and they usually mean a typo.
  const address = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (address & ~mask) >>> 0 === 0;
}

function cidrs(raw: RawSettings, key: SettingKey): string[] {
  const values = list(raw[key]);
  for (const value of values) {
    if (!isIpv4Cidr(value)) throw new ConfigError(key, `"${value}" is not an IPv4 CIDR such as 203.0.113.0/24`);
  }
  return values;
}

function validate(raw: RawSettings): InfraConfig {
  const awsRegion = check('aws_region', raw.aws_region ?? 'us-east-1', PATTERNS.awsRegion, 'must look like us-east-1');
  const gcpRegion = check('gcp_region', raw.gcp_region ?? 'us-east1', PATTERNS.gcpRegion, 'must look like us-east1');
  const gcpZone = check('gcp_zone', raw.gcp_zone ?? 'us-east1-b', PATTERNS.gcpZone, 'must look like us-east1-b');
  if (!gcpZone.startsWith(`${gcpRegion}-`)) throw new ConfigError('gcp_zone', `"${gcpZone}" is not in gcp_region ${gcpRegion}`);
  const awsAvailabilityZone = check(
    'aws_availability_zone',
    raw.aws_availability_zone ?? `${awsRegion}a`,
    PATTERNS.awsZone,
    'must look like us-east-1a',
  );
  if (!awsAvailabilityZone.startsWith(awsRegion)) {
    throw new ConfigError('aws_availability_zone', `"${awsAvailabilityZone}" is not in aws_region ${awsRegion}`);
  }

  const controlPlaneUrl = raw.control_plane_url;
  if (controlPlaneUrl !== undefined && !isHttpUrl(controlPlaneUrl)) {
    throw new ConfigError('control_plane_url', `must be an http(s) URL without credentials or quotes, got "${controlPlaneUrl}"`);
  }

  const stateBackend = raw.state_backend ?? 'local';
  if (stateBackend !== 'local' && stateBackend !== 's3' && stateBackend !== 'gcs') {
    throw new ConfigError('state_backend', `must be one of local, s3, gcs, got "${stateBackend}"`);
  }
  const stateBucket = optional(raw, 'state_bucket', PATTERNS.bucket, 'must be a bucket name');
  if (stateBackend !== 'local' && stateBucket === undefined) {
    throw new ConfigError('state_bucket', `is required when state_backend is ${stateBackend}`);
  }

  const controlPlaneReplicas = integer(raw, 'control_plane_replicas', 1, 1, 20);
  const database = raw.control_plane_database ?? (controlPlaneReplicas > 1 ? 'postgres' : 'sqlite');
  if (database !== 'sqlite' && database !== 'postgres') {
    throw new ConfigError('control_plane_database', `must be sqlite or postgres, got "${database}"`);
  }
  if (database === 'sqlite' && controlPlaneReplicas > 1) {
    throw new ConfigError('control_plane_database', `sqlite serves one replica only; control_plane_replicas = ${controlPlaneReplicas} needs postgres`);
  }

  const tags = list(raw.agent_tags);
  tags.forEach((tag) => check('agent_tags', tag, PATTERNS.tag, 'tags are lowercase letters, digits and inner "-"'));

  return {
    namePrefix: check('name_prefix', raw.name_prefix ?? 'meshgate', PATTERNS.name, 'lowercase letters, digits and "-", at most 20'),
    awsRegion,
    awsAvailabilityZone,
    awsInstanceType: check('aws_instance_type', raw.aws_instance_type ?? 't3.micro', PATTERNS.machineType, 'must look like t3.micro'),
    awsKeyName: optional(raw, 'aws_key_name', PATTERNS.keyName, 'must be an EC2 key pair name'),
    awsNodeCount: integer(raw, 'aws_node_count', 1, 0, 50),
    gcpProject: optional(raw, 'gcp_project', PATTERNS.gcpProject, 'must be a GCP project id'),
    gcpRegion,
    gcpZone,
    gcpMachineType: check('gcp_machine_type', raw.gcp_machine_type ?? 'e2-micro', PATTERNS.machineType, 'must look like e2-micro'),
    gcpNodeCount: integer(raw, 'gcp_node_count', 1, 0, 50),
    sshAllowedCidrs: cidrs(raw, 'ssh_allowed_cidrs'),
    apiAllowedCidrs: cidrs(raw, 'api_allowed_cidrs'),
    controlPlaneUrl: controlPlaneUrl?.replace(/\/+$/, ''),
    tenantId: optional(raw, 'tenant_id', PATTERNS.tenantId, 'letters, digits, "_" and "-"'),
    meshgateRepoUrl: optional(raw, 'meshgate_repo_url', PATTERNS.repoUrl, 'must be an https:// or git@ repository URL'),
    meshgateVersion: check('meshgate_version', raw.meshgate_version ?? 'main', PATTERNS.gitRef, 'must be a git branch, tag or commit'),
    agentTags: tags,
    controlPlaneInstanceType: check(
      'control_plane_instance_type',
      raw.control_plane_instance_type ?? 't3.small',
      PATTERNS.machineType,
      'must look like t3.small',
    ),
    controlPlaneVolumeGb: integer(raw, 'control_plane_volume_gb', 10, 1, 16384),
    controlPlaneReplicas,
    controlPlaneDatabase: database,
    controlPlaneDbInstanceClass: check(
      'control_plane_db_instance_class',
      raw.control_plane_db_instance_class ?? 'db.t4g.micro',
      PATTERNS.dbInstanceClass,
      'must look like db.t4g.micro',
    ),
    // gp3 RDS storage starts at 20 GiB.
    controlPlaneDbStorageGb: integer(raw, 'control_plane_db_storage_gb', 20, 20, 65536),
    stateBackend,
    stateBucket,
    statePrefix: check('state_prefix', raw.state_prefix ?? 'meshgate', PATTERNS.prefix, 'letters, digits, ".", "_", "-" and "/"'),
    stateRegion: optional(raw, 'state_region', PATTERNS.awsRegion, 'must look like us-east-1'),
    secrets: {
      enrollment_key: secret(raw, 'enrollment_key'),
      jwt_secret: secret(raw, 'jwt_secret'),
      database_password: secret(raw, 'database_password'),
    },
  };
}

function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\/[A-Za-z0-9.:[\]/_~%-]+$/.test(value)) return false;
  try {
    const url = new URL(value);
    return url.username === '' && url.password === '' && url.search === '';
  } catch {
    return false;
  }
}

export const SECRET_PATTERN = PATTERNS.secret;
