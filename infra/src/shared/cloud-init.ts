// cloud-init user data for agents and the control plane, shared by both clouds.
//
// Rendered as `#cloud-config` followed by JSON (JSON is YAML, so cloud-init reads it and quoting is exact).
// Values may be CDKTF tokens (Terraform variables, resource attributes); Terraform substitutes them at plan time.
// Secrets travel base64-encoded into root-only files, so their raw value never sits in the YAML and never in the
// synthesized JSON (there it is only `${var.…}`).
//
// Terraform treats `${` and `%{` in any string as template syntax, so the scripts below avoid both
// (`$var`, never `${var}`); renderCloudConfig() refuses text that breaks this rule.
import { Fn } from 'cdktf';
import { CONTROL_PLANE_PORT, WIREGUARD_PORT } from './firewall-rules';

export type Cloud = 'aws' | 'gcp';

export const INSTALL_DIR = '/opt/meshgate';
export const AGENT_CONFIG_PATH = '/etc/meshgate/agent.json';
/** Where install.sh puts the bundled agent. */
export const AGENT_JS = '/usr/lib/meshgate/meshgate-agent.js';
/** Read once by `meshgate-agent up --auth-key file:…` (the key then lives in the 0600 agent.json), then deleted. */
export const ENROLLMENT_KEY_PATH = '/etc/meshgate/enrollment-key';
export const AGENT_UNIT = 'meshgate-agent.service';
export const CONTROL_PLANE_UNIT = 'meshgate-control-plane.service';
export const CONTROL_PLANE_DATA_DIR = '/var/lib/meshgate-control-plane';
export const DATABASE_PATH = `${CONTROL_PLANE_DATA_DIR}/meshgate.db`;

/** Both clouds' small instances have 1 GiB RAM; the control plane's `npm ci` + `tsc` need more: a 2 GiB swap file. */
const SWAP_BYTES = 2 * 1024 * 1024 * 1024;
const BASE_PACKAGES = ['git', 'build-essential', 'python3', 'curl', 'ca-certificates', 'gnupg', 'jq'];
/** An agent needs Node.js (from NodeSource, hence gnupg) and curl; install.sh brings WireGuard and the agent. */
const AGENT_PACKAGES = ['curl', 'ca-certificates', 'gnupg'];

/** Shell that prints this instance's public IPv4 address, from each cloud's metadata service. */
const PUBLIC_IP_COMMAND: Record<Cloud, string> = {
  // IMDSv2 (the instances require session tokens).
  aws: [
    "token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)",
    'curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/public-ipv4',
  ].join('\n'),
  gcp: "curl -fsS -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip",
};

export interface SourceOptions {
  /** Git URL of the MeshGate repository. */
  repoUrl: string;
  /** Branch, tag or commit to build. */
  version: string;
}

export interface AgentCloudInitOptions {
  cloud: Cloud;
  nodeName: string;
  controlPlaneUrl: string;
  tenantId: string;
  /** Token of the sensitive `enrollment_key` variable. */
  enrollmentKey: string;
  tags: string[];
}

interface ControlPlaneCommonOptions extends SourceOptions {
  /** Token of the sensitive `jwt_secret` variable (may be empty with SQLite: the control plane then generates one). */
  jwtSecret: string;
  /**
   * PUBLIC_URL, the origin agents reach the control plane at (written into its /install.sh); null: the start script
   * takes the instance's public address from the metadata service (an Elastic IP is attached after the instance).
   */
  publicUrl: string | null;
}

/** SQLite on a data volume: one instance. */
export interface SqliteControlPlaneOptions extends ControlPlaneCommonOptions {
  /** Candidate paths of the data volume's block device, first found wins. */
  dataDevices: string[];
}

/** PostgreSQL: one of several replicas; no data volume. */
export interface PostgresControlPlaneOptions extends ControlPlaneCommonOptions {
  /** `postgres://…` (tokens allowed); lands only in the root-only env file, base64-encoded. */
  databaseUrl: string;
}

export type ControlPlaneCloudInitOptions = SqliteControlPlaneOptions | PostgresControlPlaneOptions;

interface WriteFile {
  path: string;
  permissions: string;
  content: string;
  owner?: string;
  encoding?: 'b64';
}

/** Agent config as the agent reads it; auth_token and endpoint come from the environment (see the unit). */
export function agentConfig(options: AgentCloudInitOptions): Record<string, unknown> {
  return {
    control_plane_url: options.controlPlaneUrl,
    tenant_id: options.tenantId,
    node_name: options.nodeName,
    interface_name: 'mg0',
    listen_port: WIREGUARD_PORT,
    heartbeat_interval: 30,
    tags: options.tags,
    state_dir: '/var/lib/meshgate',
  };
}

/**
 * The agent joins as a user would: Node.js 20, then the control plane's install.sh (the bundled agent, checked
 * against its sha256, WireGuard tools, the unit). Cloud-init writes the config first, so the installer keeps those
 * keys and adds the enrollment key from a root-only file; a drop-in runs the agent through a start script that
 * publishes the instance's current public address as its endpoint.
 */
export function agentCloudInit(options: AgentCloudInitOptions): string {
  const startScript = script(
    "Publish this machine's current public address as the WireGuard endpoint (it changes across stop/start), then run the agent.",
    'set -eu',
    `ip=$(${PUBLIC_IP_COMMAND[options.cloud].replace('\n', '; ')})`,
    `export MESHGATE_ENDPOINT="$ip:${WIREGUARD_PORT}"`,
    `exec /usr/bin/node ${AGENT_JS} --config ${AGENT_CONFIG_PATH}`,
  );
  const joinScript = script(
    "Install the agent with the control plane's install.sh, waiting for the control plane to answer (it may still be booting).",
    'set -eu',
    ...nodeJsInstallLines(),
    `url='${options.controlPlaneUrl}'`,
    'for attempt in $(seq 1 180); do',
    '  if curl -fsSL -o /run/meshgate-install.sh "$url/install.sh"; then break; fi',
    '  sleep 10',
    'done',
    '[ -s /run/meshgate-install.sh ] || { echo "no install.sh from $url after 30 minutes" >&2; exit 1; }',
    `MESHGATE_WAIT_SECONDS=600 sh /run/meshgate-install.sh --auth-key file:${ENROLLMENT_KEY_PATH}`,
    `rm -f /run/meshgate-install.sh ${ENROLLMENT_KEY_PATH}`,
  );
  const dropIn = ['[Service]', 'ExecStart=', 'ExecStart=/usr/local/sbin/meshgate-agent-start', ''].join('\n');
  return renderCloudConfig({
    packages: AGENT_PACKAGES,
    swap: false,
    files: [
      { path: AGENT_CONFIG_PATH, permissions: '0600', content: `${JSON.stringify(agentConfig(options), null, 2)}\n` },
      { path: ENROLLMENT_KEY_PATH, permissions: '0600', encoding: 'b64', content: Fn.base64encode(options.enrollmentKey) },
      { path: '/usr/local/sbin/meshgate-join', permissions: '0755', content: joinScript },
      { path: '/usr/local/sbin/meshgate-agent-start', permissions: '0755', content: startScript },
      { path: `/etc/systemd/system/${AGENT_UNIT}.d/cloud-endpoint.conf`, permissions: '0644', content: dropIn },
    ],
    runcmd: [['/usr/local/sbin/meshgate-join']],
  });
}

export function controlPlaneCloudInit(options: ControlPlaneCloudInitOptions): string {
  return 'databaseUrl' in options ? postgresControlPlane(options) : sqliteControlPlane(options);
}

function sqliteControlPlane(options: SqliteControlPlaneOptions): string {
  const volumeScript = script(
    'Wait for the data volume (attached after boot), format it only if blank, and mount it by UUID.',
    'set -eu',
    `devices='${options.dataDevices.join(' ')}'`,
    'dev=',
    'for attempt in $(seq 1 120); do',
    '  for d in $devices; do if [ -b "$d" ]; then dev=$(readlink -f "$d"); break 2; fi; done',
    '  sleep 5',
    'done',
    '[ -n "$dev" ] || { echo "data volume not attached after 10 minutes" >&2; exit 1; }',
    'blkid "$dev" >/dev/null || mkfs.ext4 -L meshgate-data "$dev"',
    'uuid=$(blkid -s UUID -o value "$dev")',
    `mkdir -p ${CONTROL_PLANE_DATA_DIR}`,
    `grep -q "$uuid" /etc/fstab || echo "UUID=$uuid ${CONTROL_PLANE_DATA_DIR} ext4 defaults,nofail 0 2" >> /etc/fstab`,
    `mountpoint -q ${CONTROL_PLANE_DATA_DIR} || mount ${CONTROL_PLANE_DATA_DIR}`,
    'id meshgate >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin meshgate',
    `chown meshgate:meshgate ${CONTROL_PLANE_DATA_DIR}`,
    `chmod 0700 ${CONTROL_PLANE_DATA_DIR}`,
  );
  const unit = controlPlaneUnit({
    unit: [`RequiresMountsFor=${CONTROL_PLANE_DATA_DIR}`],
    service: [`Environment=DATABASE_PATH=${DATABASE_PATH}`],
    writable: [`ReadWritePaths=${CONTROL_PLANE_DATA_DIR}`],
  });
  return renderCloudConfig({
    packages: BASE_PACKAGES,
    files: [
      { path: '/etc/meshgate/control-plane.env', permissions: '0600', encoding: 'b64', content: Fn.base64encode(`JWT_SECRET=${options.jwtSecret}`) },
      { path: '/usr/local/sbin/meshgate-data-volume', permissions: '0755', content: volumeScript },
      ...controlPlaneFiles(options, unit, '/health'),
    ],
    runcmd: [['/usr/local/sbin/meshgate-data-volume'], ...controlPlaneRuncmd],
  });
}

/**
 * One replica of several: the database is PostgreSQL (DATABASE_URL, in the root-only env file with the JWT secret,
 * which every replica must share), there is no data volume, and the service keeps its state directory for whatever
 * it writes locally. The in-instance timer checks liveness (/health/live) only: readiness (/health/ready, which
 * includes the database) is the load balancer's, and restarting every replica when the database blips would turn
 * an outage into a restart storm.
 */
function postgresControlPlane(options: PostgresControlPlaneOptions): string {
  const unit = controlPlaneUnit({ service: [], writable: [`StateDirectory=${CONTROL_PLANE_DATA_DIR.replace('/var/lib/', '')}`, 'StateDirectoryMode=0700'] });
  return renderCloudConfig({
    packages: BASE_PACKAGES,
    files: [
      {
        path: '/etc/meshgate/control-plane.env',
        permissions: '0600',
        encoding: 'b64',
        content: Fn.base64encode(`JWT_SECRET=${options.jwtSecret}\nDATABASE_URL=${options.databaseUrl}`),
      },
      ...controlPlaneFiles(options, unit, '/health/live'),
    ],
    runcmd: controlPlaneRuncmd,
  });
}

const controlPlaneRuncmd = [
  ['/usr/local/sbin/meshgate-install'],
  ['systemctl', 'daemon-reload'],
  ['systemctl', 'enable', '--now', CONTROL_PLANE_UNIT, 'meshgate-control-plane-health.timer'],
];

function controlPlaneUnit(spec: { unit?: string[]; service: string[]; writable: string[] }): string {
  return systemdUnit({
    description: 'MeshGate control plane',
    unit: spec.unit,
    service: [
      'Type=simple',
      'User=meshgate',
      'Group=meshgate',
      `WorkingDirectory=${INSTALL_DIR}`,
      'Environment=NODE_ENV=production',
      `Environment=PORT=${CONTROL_PLANE_PORT}`,
      ...spec.service,
      'EnvironmentFile=/etc/meshgate/control-plane.env',
      'ExecStart=/usr/local/sbin/meshgate-control-plane-start',
      'Restart=always',
      'RestartSec=5',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      ...spec.writable,
    ],
  });
}

/** The install script, start script, unit and health timer both shapes share; `healthPath` is what the timer GETs. */
function controlPlaneFiles(source: ControlPlaneCommonOptions, unit: string, healthPath: string): WriteFile[] {
  const startScript = script(
    'An empty JWT_SECRET means "not set": the control plane then generates one and keeps it in its data dir.',
    '[ -n "$JWT_SECRET" ] || unset JWT_SECRET',
    ...(source.publicUrl === null
      ? [
        "# PUBLIC_URL (written into /install.sh for agents): this instance's public address, as the metadata service has it.",
        `ip=$(${PUBLIC_IP_COMMAND.aws.replace('\n', '; ')})`,
        `export PUBLIC_URL="http://$ip:${CONTROL_PLANE_PORT}"`,
      ]
      : [`export PUBLIC_URL='${source.publicUrl}'`]),
    `exec /usr/bin/node ${INSTALL_DIR}/dist/apps/control-plane/main.js`,
  );
  const healthScript = script(
    `Liveness check run by a timer: three failed GET ${healthPath} in a row restart the control plane.`,
    'state=/run/meshgate-health-failures',
    `if curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:${CONTROL_PLANE_PORT}${healthPath}; then echo 0 > $state; exit 0; fi`,
    'failures=$(( $(cat $state 2>/dev/null || echo 0) + 1 ))',
    'echo $failures > $state',
    `logger -t meshgate-health "GET ${healthPath} failed ($failures in a row)"`,
    `if [ $failures -ge 3 ]; then echo 0 > $state; systemctl restart ${CONTROL_PLANE_UNIT}; fi`,
  );
  const healthUnit = systemdUnit({
    description: 'MeshGate control-plane health check',
    install: false,
    service: ['Type=oneshot', 'ExecStart=/usr/local/sbin/meshgate-control-plane-health'],
  });
  const healthTimer = [
    '[Unit]',
    'Description=Check MeshGate control-plane health every 30 seconds',
    '',
    '[Timer]',
    'OnBootSec=5min',
    'OnUnitActiveSec=30s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return [
    { path: '/usr/local/sbin/meshgate-install', permissions: '0755', content: installScript(source) },
    { path: '/usr/local/sbin/meshgate-control-plane-start', permissions: '0755', content: startScript },
    { path: '/usr/local/sbin/meshgate-control-plane-health', permissions: '0755', content: healthScript },
    { path: `/etc/systemd/system/${CONTROL_PLANE_UNIT}`, permissions: '0644', content: unit },
    { path: '/etc/systemd/system/meshgate-control-plane-health.service', permissions: '0644', content: healthUnit },
    { path: '/etc/systemd/system/meshgate-control-plane-health.timer', permissions: '0644', content: healthTimer },
  ];
}

/**
 * Node.js 20 comes from NodeSource's signed apt repository: Ubuntu 22.04 ships Node 12, too old, and the apt
 * repo gets security updates through unattended-upgrades.
 */
function nodeJsInstallLines(): string[] {
  return [
    "if ! node --version 2>/dev/null | grep -q '^v20\\.'; then",
    '  install -d -m 0755 /etc/apt/keyrings',
    '  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg',
    "  echo 'deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main' > /etc/apt/sources.list.d/nodesource.list",
    '  apt-get update',
    '  DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs',
    'fi',
  ];
}

/** The control plane is built from git at the configured ref (agents get the bundle it builds, via install.sh). */
export function installScript(source: SourceOptions): string {
  return script(
    'Install Node.js 20 and build MeshGate into /opt/meshgate (idempotent: re-running rebuilds the ref).',
    'set -eu',
    ...nodeJsInstallLines(),
    `rm -rf ${INSTALL_DIR}.new`,
    `git init -q ${INSTALL_DIR}.new`,
    `cd ${INSTALL_DIR}.new`,
    `git remote add origin '${source.repoUrl}'`,
    // Fetching the ref itself works for branches, tags and full commit ids alike.
    `git fetch -q --depth 1 origin '${source.version}'`,
    'git checkout -q --detach FETCH_HEAD',
    'export HOME=/root',
    'npm ci --no-audit --no-fund',
    'npm run build',
    `rm -rf ${INSTALL_DIR}`,
    `mv ${INSTALL_DIR}.new ${INSTALL_DIR}`,
  );
}

function script(purpose: string, ...lines: string[]): string {
  return ['#!/bin/bash', `# ${purpose}`, ...lines, ''].join('\n');
}

function systemdUnit(spec: { description: string; unit?: string[]; service: string[]; install?: boolean }): string {
  const lines = [
    '[Unit]',
    `Description=${spec.description}`,
    'Wants=network-online.target',
    'After=network-online.target',
    ...(spec.unit ?? []),
    '',
    '[Service]',
    ...spec.service,
  ];
  if (spec.install !== false) lines.push('', '[Install]', 'WantedBy=multi-user.target');
  return `${lines.join('\n')}\n`;
}

const TOKEN = /\$\{TfToken\[[^\]]+\]\}/g;

export function renderCloudConfig(spec: { packages: string[]; files: WriteFile[]; runcmd: string[][]; swap?: boolean }): string {
  const document = {
    package_update: true,
    packages: spec.packages,
    ...(spec.swap === false ? {} : { swap: { filename: '/swapfile', size: SWAP_BYTES } }),
    write_files: spec.files.map((file) => ({ owner: 'root:root', ...file })),
    runcmd: spec.runcmd,
  };
  const text = `#cloud-config\n${JSON.stringify(document, null, 2)}\n`;
  const literal = text.replace(TOKEN, '');
  if (/[$%]\{/.test(literal)) {
    throw new Error('cloud-init text contains "${" or "%{", which Terraform would read as template syntax');
  }
  return text;
}
