/**
 * Every environment variable the control plane reads, with its default and meaning: the one list `--help` prints and
 * `loadConfig` may read (its environment is typed by these names, so a variable missing here does not compile, and
 * app-config-variables.spec checks that each one listed is read).
 */
export const APP_CONFIG_VARIABLES = {
  PORT: { default: '8080', meaning: 'API port' },
  HOST: { default: '0.0.0.0', meaning: 'API address' },
  TLS_CERT_FILE: { default: 'none', meaning: 'PEM certificate (chain) to serve HTTPS with; reread on SIGHUP' },
  TLS_KEY_FILE: { default: 'none', meaning: "PEM private key of TLS_CERT_FILE's certificate; reread on SIGHUP" },
  DATABASE_PATH: { default: './data/meshgate.sqlite', meaning: 'SQLite file; its directory (0700) also holds the generated JWT secret' },
  DATABASE_URL: { default: 'none', meaning: 'postgres://user:pass@host:5432/db: run on PostgreSQL instead (migrated at start)' },
  DATABASE_MIGRATION_URL: { default: 'DATABASE_URL', meaning: "the schema owner's URL, when the app's role is not" },
  WRITE_BUSY_TIMEOUT_MS: { default: '5000', meaning: "SQLite: wait for another process's write lock, then 503" },
  MIN_FREE_DISK_BYTES: { default: '67108864', meaning: 'SQLite: less free space in the data directory makes /health/ready 503' },
  SNAPSHOT_EVERY_EVENTS: { default: '100000', meaning: 'the leader snapshots the views this often' },
  GROUP_COMMIT_MAX_WAIT_MS: { default: '0', meaning: 'how long an append may wait for others to share its transaction' },
  CHECKPOINT_EVERY_EVENTS: { default: '10000', meaning: 'the leader signs a checkpoint after this many events…' },
  CHECKPOINT_EVERY_MINUTES: { default: '60', meaning: '…or this many minutes after the last one, if the log grew' },
  CHECKPOINT_SIGNING_KEY: { default: '<data dir>/checkpoint-key.pem', meaning: 'Ed25519 private key (PEM) checkpoints are signed with (generated once if unset)' },
  CHECKPOINT_SIGNING_KEY_FILE: { default: 'none', meaning: 'a file holding that PEM key, instead of CHECKPOINT_SIGNING_KEY' },
  JWT_SECRET: { default: '<data dir>/jwt-secret', meaning: 'HS256 signing secret, at least 32 characters (generated once if unset)' },
  JWT_EXPIRES_IN_SECONDS: { default: '3600', meaning: 'access token lifetime' },
  HEARTBEAT_INTERVAL_SECONDS: { default: '30', meaning: 'expected heartbeat interval of agents' },
  OFFLINE_AFTER_MISSED_HEARTBEATS: { default: '3', meaning: 'a node silent this many intervals goes offline' },
  SWEEP_INTERVAL_MS: { default: 'min(interval, 10 s)', meaning: 'how often the offline sweeper runs' },
  EPHEMERAL_NODE_TTL_SECONDS: { default: '1800', meaning: 'an ephemeral node inactive this long is removed' },
  AUTH_RATE_LIMIT: { default: '20', meaning: 'login/register requests per minute per client address' },
  LOGIN_FAILURE_LIMIT: { default: '10', meaning: 'failed logins per account in 15 minutes before 429' },
  WRITE_RATE_LIMIT: { default: '600', meaning: 'POST/PUT/DELETE requests per minute per principal' },
  HEARTBEAT_RATE_LIMIT: { default: '5', meaning: 'heartbeats per node per heartbeat interval' },
  TRUST_PROXY: { default: 'false', meaning: "whose X-Forwarded-For to believe: false, true, a hop count or addresses/CIDRs" },
  REQUEST_TIMEOUT_MS: { default: '30000', meaning: 'a request not received in full by then is dropped' },
  CONNECTION_TIMEOUT_MS: { default: '75000', meaning: 'a socket silent this long is closed (config streams exempt)' },
  SSE_STREAMS_PER_NODE: { default: '4', meaning: 'open config streams per node (beyond: 429)' },
  SSE_STREAMS_TOTAL: { default: '20000', meaning: 'open config streams in all (beyond: 503)' },
  SSE_PING_MS: { default: '15000', meaning: 'comment pings on idle config streams' },
  BODY_LIMIT_BYTES: { default: '2097152', meaning: 'larger request bodies get 413' },
  LOG_LEVEL: { default: 'info', meaning: 'error, warn, info (or log) or debug: JSON lines on stdout' },
  SCHEDULER_CLOCK: { default: 'system', meaning: 'manual is for tests only (PUT /api/v1/test-clock)' },
  SCHEDULER_CLOCK_START: { default: 'now', meaning: 'with SCHEDULER_CLOCK=manual: the instant (ISO 8601) the clock starts at' },
  METRICS_HOST: { default: '127.0.0.1', meaning: 'address of the separate /metrics listener' },
  METRICS_PORT: { default: '9464', meaning: 'port of the /metrics listener (0: any free port)' },
  METRICS_TOKEN: { default: 'none', meaning: 'bearer token (32+ characters) the metrics listener then requires' },
  DOCS: { default: 'true', meaning: 'false: no OpenAPI document or Swagger UI at /docs' },
  REGISTRATION: { default: 'invite', meaning: 'invite: only invited emails (and the first user) may register; open: anyone' },
  OIDC_ISSUER: { default: 'none', meaning: "single sign-on: the OpenID provider's issuer URL" },
  OIDC_CLIENT_ID: { default: 'none', meaning: "MeshGate's client id at the provider (required with the issuer)" },
  OIDC_CLIENT_SECRET: { default: 'none', meaning: 'its secret (without: a public client, PKCE alone)' },
  OIDC_ALLOWED_DOMAINS: { default: 'none', meaning: 'comma-separated email domains that may sign on, or *' },
  OIDC_REDIRECT_URL: { default: 'none', meaning: 'the callback URL as browsers reach it (…/api/v1/auth/oidc/callback)' },
  OIDC_SCOPES: { default: 'openid email profile', meaning: 'space-separated scopes, including openid' },
  OIDC_GROUPS_CLAIM: { default: 'groups', meaning: "the claim listing the user's IdP groups" },
  PUBLIC_URL: { default: 'none', meaning: 'the origin agents reach this server at (https://mesh.example.com), written into /install.sh' },
  AGENT_DOWNLOAD_DIR: { default: './dist/agent', meaning: 'the built agent (npm run build:agent) served at /downloads' },
  CONSOLE_DIR: { default: './dist/apps/console', meaning: 'the built web console (npm run build) served at /' },
} as const satisfies Record<string, { default: string; meaning: string }>;

export type AppConfigVariable = keyof typeof APP_CONFIG_VARIABLES;

/** The environment as loadConfig may read it: only the variables listed above. */
export type AppEnv = { readonly [name in AppConfigVariable]?: string };

/** `--help`: how to run the server and every variable, aligned in columns. */
export function helpText(version: string): string {
  const names = Object.keys(APP_CONFIG_VARIABLES) as AppConfigVariable[];
  const nameWidth = Math.max(...names.map((n) => n.length));
  const defaultWidth = Math.max(...names.map((n) => APP_CONFIG_VARIABLES[n].default.length));
  const rows = names.map((n) => {
    const v = APP_CONFIG_VARIABLES[n];
    return `  ${n.padEnd(nameWidth)}  ${v.default.padEnd(defaultWidth)}  ${v.meaning}`;
  });
  return [
    `MeshGate control plane ${version}`,
    '',
    'Usage: node dist/apps/control-plane/main.js [--help | --version]   (systemd: meshgate-control-plane.service)',
    '',
    'Configured by environment variables (a systemd unit reads them from /etc/meshgate/control-plane.env).',
    'Invalid values stop the server with exit code 2, naming the variable. SIGHUP rereads the TLS files.',
    '',
    `  ${'variable'.padEnd(nameWidth)}  ${'default'.padEnd(defaultWidth)}  meaning`,
    ...rows,
    '',
  ].join('\n');
}
