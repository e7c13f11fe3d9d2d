import { KeyObject, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
// The helper alone, not the DTOs (loading them needs reflect-metadata, which --help and the tools do not load).
import { isTimestamp } from '@meshgate/contracts/timestamp';
import { AppConfigVariable, AppEnv } from './app-config-variables';
import { checkpointSigningKey } from './checkpoint-signing-key';
import { readTlsCredentials, TlsFiles } from './tls-credentials';

/** The one typed configuration of the control plane, read from the environment and validated at boot. */
export interface AppConfig {
  host: string;
  port: number;
  /** TLS_CERT_FILE and TLS_KEY_FILE: the API serves HTTPS (the files are reread on SIGHUP), or null for plain HTTP. */
  tls: TlsFiles | null;
  /** DOCS: whether /docs serves the OpenAPI document and Swagger UI. */
  docs: boolean;
  /** The SQLite file (and the data directory holding the generated JWT secret). */
  databasePath: string;
  /** `postgres://…`: run on PostgreSQL instead of SQLite (every replica names the same database). */
  databaseUrl: string | null;
  /** The schema owner's URL for migrations, when the app's own role (in databaseUrl) does not own the schema. */
  databaseMigrationUrl: string | null;
  /** Snapshot the views after this many events (the leader does), so a start replays only the tail. */
  snapshotEveryEvents: number;
  /** The leader signs a checkpoint once this many events were appended since the last one… */
  checkpointEveryEvents: number;
  /** …or this many minutes after the last one, if anything was appended since. */
  checkpointEveryMinutes: number;
  /** Ed25519 private key the checkpoints (and vouched-for export lines) are signed with. */
  checkpointSigningKey: KeyObject;
  jwtSecret: string;
  jwtExpiresInSeconds: number;
  heartbeatIntervalSeconds: number;
  /** A node that missed this many heartbeat intervals is marked offline. */
  offlineAfterMissedHeartbeats: number;
  sweepIntervalMs: number;
  /** An ephemeral node (enrolled with an ephemeral key) inactive this long is removed by the sweeper. */
  ephemeralNodeTtlSeconds: number;
  authRateLimitPerMinute: number;
  /** Failed logins per account (email) in 15 minutes, from any address, before its logins answer 429. */
  loginFailureLimit: number;
  /** Writes (POST/PUT/DELETE) per minute per principal: user, node or enrollment key. Heartbeats have their own. */
  writeRateLimitPerMinute: number;
  /** Heartbeats per node per heartbeat interval (a small burst, so an agent's retry is not refused). */
  heartbeatRateLimit: number;
  /** Open config streams per node, and in total. */
  sseStreamsPerNode: number;
  sseStreamsTotal: number;
  /** Fastify's trustProxy: whose X-Forwarded-For to believe for the client address (rate limits, logs). */
  trustProxy: boolean | number | string[];
  /** Longest time a client may take to send a whole request (headers and body). */
  requestTimeoutMs: number;
  /** A socket idle this long is closed (config streams are exempt: their pings keep them alive). */
  connectionTimeoutMs: number;
  ssePingMs: number;
  bodyLimitBytes: number;
  /** Longest time an append waits for others to join its transaction. */
  groupCommitMaxWaitMs: number;
  /** How long a write waits for a database lock held by another process before answering 503. */
  writeBusyWaitMs: number;
  /** Below this much free space in the data directory, readiness fails (writes are then likely to fail). */
  minFreeDiskBytes: number;
  /** pino's level names; LOG_LEVEL=log (Nest's name, the former default) means info. */
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Prometheus metrics are served on their own listener, never on the public API port (they span all tenants). */
  metricsHost: string;
  metricsPort: number;
  /** When set, the metrics listener also requires `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /**
   * `system`, or `manual` for tests: the scheduler then reads a clock that only PUT /api/v1/test-clock moves, so
   * a test can open and close schedule windows without waiting for them. Never use `manual` in production.
   */
  schedulerClock: 'system' | 'manual';
  /** Where a manual clock starts (SCHEDULER_CLOCK_START); null: at the time of the start. */
  manualClockStart: Date | null;
  /**
   * REGISTRATION: `invite` (default) lets an email register only while a tenant has a pending invitation for it
   * (made by adding a member); `open` lets anyone register. The first user may always register.
   */
  registration: 'open' | 'invite';
  /** Single sign-on with an OpenID Connect provider (authorization code with PKCE), or null when OIDC_ISSUER is unset. */
  oidc: OidcConfig | null;
  /** PUBLIC_URL: the origin agents reach this control plane at, written into /install.sh (null: no install script). */
  publicUrl: string | null;
  /** AGENT_DOWNLOAD_DIR: where `npm run build:agent` put meshgate-agent.js and its .sha256, served at /downloads. */
  agentDownloadDir: string;
  /** CONSOLE_DIR: the built web console (index.html, assets/), served at `/`; without its index.html there is no console. */
  consoleDir: string;
}

export interface OidcConfig {
  /** OIDC_ISSUER: the provider's issuer URL (its /.well-known/openid-configuration is read on first use). */
  issuer: string;
  clientId: string;
  /** OIDC_CLIENT_SECRET, or null for a public client (PKCE alone). */
  clientSecret: string | null;
  /** OIDC_ALLOWED_DOMAINS: the email domains that may sign in (lower case), or `*` for any. */
  allowedDomains: string[] | '*';
  /** OIDC_REDIRECT_URL: this control plane's callback as the provider sees it (…/api/v1/auth/oidc/callback). */
  redirectUrl: string;
  /** OIDC_SCOPES, space separated (default `openid email profile`; add the provider's groups scope if it has one). */
  scopes: string;
  /** OIDC_GROUPS_CLAIM: the claim listing the user's IdP groups (default `groups`). */
  groupsClaim: string;
}

export class ConfigError extends Error {}

function int(env: AppEnv, name: AppConfigVariable, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/**
 * The JWT secret from JWT_SECRET, or one generated once and kept beside the database (mode 0600) so that tokens
 * survive a restart without the operator having to invent a secret.
 */
function jwtSecret(env: AppEnv, databasePath: string): string {
  const given = env.JWT_SECRET;
  if (given !== undefined && given !== '') {
    if (given.length < 32) throw new ConfigError('JWT_SECRET must be at least 32 characters');
    return given;
  }
  const file = join(dirname(databasePath), 'jwt-secret');
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return readFileSync(file, 'utf8').trim();
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

function checkpointKey(env: AppEnv, databasePath: string): KeyObject {
  try {
    return checkpointSigningKey(env, databasePath);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** proxy-addr's names for address ranges, as Fastify's trustProxy accepts them. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `false` (default), `true`, a hop count, or a comma-separated list of addresses, CIDRs and named ranges. */
function trustProxy(env: AppEnv): AppConfig['trustProxy'] {
  const raw = (env.TRUST_PROXY ?? '').trim();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^[0-9]+$/.test(raw)) {
    const hops = Number(raw);
    if (hops < 1 || hops > 16) throw new ConfigError(`TRUST_PROXY hop count must be between 1 and 16, got ${hops}`);
    return hops;
  }
  const entries = raw.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const version = isIP(address);
    const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (version === 6 ? 128 : 32));
    if (!NAMED_RANGES.has(entry) && (version === 0 || !prefixOk || extra !== undefined)) {
      throw new ConfigError(`TRUST_PROXY must be true, false, a hop count or a list of addresses/CIDRs, got "${entry}"`);
    }
  }
  return entries;
}

function metricsHost(env: AppEnv): string {
  const host = env.METRICS_HOST || '127.0.0.1';
  if (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host)) throw new ConfigError(`METRICS_HOST must be an address or host name, got "${host}"`);
  return host;
}

function metricsToken(env: AppEnv): string | null {
  const token = env.METRICS_TOKEN;
  if (token === undefined || token === '') return null;
  if (token.length < 32) throw new ConfigError('METRICS_TOKEN must be at least 32 characters');
  return token;
}

function schedulerClock(env: AppEnv): AppConfig['schedulerClock'] {
  const value = env.SCHEDULER_CLOCK || 'system';
  if (value !== 'system' && value !== 'manual') throw new ConfigError('SCHEDULER_CLOCK must be system|manual');
  return value;
}

/** A test's start instant, so that what a restart opens or closes does not depend on the machine's time of day. */
function manualClockStart(env: AppEnv, clock: AppConfig['schedulerClock']): Date | null {
  const value = env.SCHEDULER_CLOCK_START;
  if (!value) return null;
  if (clock !== 'manual') throw new ConfigError('SCHEDULER_CLOCK_START needs SCHEDULER_CLOCK=manual');
  // The same forms PUT /api/v1/test-clock takes: a date-time without a zone would be read in local time.
  if (!isTimestamp(value)) throw new ConfigError('SCHEDULER_CLOCK_START must be a date (2024-01-31) or a date-time with a zone (2024-01-31T09:00:00Z)');
  return new Date(value);
}

function registration(env: AppEnv): AppConfig['registration'] {
  const value = env.REGISTRATION || 'invite';
  if (value !== 'open' && value !== 'invite') throw new ConfigError('REGISTRATION must be open|invite');
  return value;
}

function httpUrl(env: AppEnv, name: AppConfigVariable): string {
  const raw = env[name];
  if (raw === undefined || raw === '') throw new ConfigError(`${name} is required when OIDC_ISSUER is set`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  return raw;
}

function oidc(env: AppEnv): OidcConfig | null {
  if (env.OIDC_ISSUER === undefined || env.OIDC_ISSUER === '') return null;
  const clientId = env.OIDC_CLIENT_ID;
  if (clientId === undefined || clientId === '') throw new ConfigError('OIDC_CLIENT_ID is required when OIDC_ISSUER is set');
  const domains = (env.OIDC_ALLOWED_DOMAINS ?? '').split(',').map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
  if (domains.length === 0) throw new ConfigError('OIDC_ALLOWED_DOMAINS is required when OIDC_ISSUER is set (a comma-separated list of email domains, or *)');
  for (const domain of domains) {
    if (domain !== '*' && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)) {
      throw new ConfigError(`OIDC_ALLOWED_DOMAINS must list email domains (or *), got "${domain}"`);
    }
  }
  const scopes = (env.OIDC_SCOPES || 'openid email profile').trim();
  if (!scopes.split(/\s+/).includes('openid')) throw new ConfigError('OIDC_SCOPES must include openid');
  const groupsClaim = env.OIDC_GROUPS_CLAIM || 'groups';
  if (!/^[A-Za-z0-9_:./-]{1,100}$/.test(groupsClaim)) throw new ConfigError(`OIDC_GROUPS_CLAIM must be a claim name, got "${groupsClaim}"`);
  return {
    issuer: httpUrl(env, 'OIDC_ISSUER'),
    clientId,
    clientSecret: env.OIDC_CLIENT_SECRET || null,
    allowedDomains: domains.includes('*') ? '*' : domains,
    redirectUrl: httpUrl(env, 'OIDC_REDIRECT_URL'),
    scopes,
    groupsClaim,
  };
}

/** Both files or neither; checked now (PEM, a key that fits the certificate) so a bad pair stops the boot. */
function tls(env: AppEnv): TlsFiles | null {
  const certFile = env.TLS_CERT_FILE || null;
  const keyFile = env.TLS_KEY_FILE || null;
  if (certFile === null && keyFile === null) return null;
  if (certFile === null) throw new ConfigError('TLS_CERT_FILE is required when TLS_KEY_FILE is set');
  if (keyFile === null) throw new ConfigError('TLS_KEY_FILE is required when TLS_CERT_FILE is set');
  const files = { certFile: resolve(certFile), keyFile: resolve(keyFile) };
  try {
    readTlsCredentials(files);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return files;
}

function logLevelOf(env: AppEnv): AppConfig['logLevel'] {
  const value = env.LOG_LEVEL || 'info';
  if (value === 'log') return 'info';
  if (value !== 'error' && value !== 'warn' && value !== 'info' && value !== 'debug') throw new ConfigError('LOG_LEVEL must be error|warn|info|debug (log means info)');
  return value;
}

function docs(env: AppEnv): boolean {
  const value = env.DOCS || 'true';
  if (value !== 'true' && value !== 'false') throw new ConfigError('DOCS must be true|false');
  return value === 'true';
}

function postgresUrl(env: AppEnv, name: AppConfigVariable): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a postgres:// URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError(`${name} must be a postgres:// URL`);
  return raw;
}

/**
 * An origin only (scheme, host, port): install scripts embed it, so it must come from the operator, never from a
 * request's Host header, which any client (or a cache in between) can set.
 */
function publicUrl(env: AppEnv): string | null {
  const raw = env.PUBLIC_URL;
  if (raw === undefined || raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an http(s) URL, got "${raw}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`PUBLIC_URL must be an http(s) origin such as https://mesh.example.com (no path, query or credentials), got "${raw}"`);
  }
  return url.origin;
}

export function loadConfig(env: AppEnv = process.env): AppConfig {
  const databasePath = resolve(env.DATABASE_PATH || './data/meshgate.sqlite');
  mkdirSync(dirname(databasePath), { recursive: true, mode: 0o700 });
  const logLevel = logLevelOf(env);
  const heartbeatIntervalSeconds = int(env, 'HEARTBEAT_INTERVAL_SECONDS', 30, 1, 3600);
  const clock = schedulerClock(env);
  return {
    host: env.HOST || '0.0.0.0',
    port: int(env, 'PORT', 8080, 0, 65535),
    tls: tls(env),
    docs: docs(env),
    databasePath,
    databaseUrl: postgresUrl(env, 'DATABASE_URL'),
    databaseMigrationUrl: postgresUrl(env, 'DATABASE_MIGRATION_URL'),
    snapshotEveryEvents: int(env, 'SNAPSHOT_EVERY_EVENTS', 100_000, 100, 100_000_000),
    checkpointEveryEvents: int(env, 'CHECKPOINT_EVERY_EVENTS', 10_000, 10, 100_000_000),
    checkpointEveryMinutes: int(env, 'CHECKPOINT_EVERY_MINUTES', 60, 1, 7 * 24 * 60),
    checkpointSigningKey: checkpointKey(env, databasePath),
    jwtSecret: jwtSecret(env, databasePath),
    jwtExpiresInSeconds: int(env, 'JWT_EXPIRES_IN_SECONDS', 3600, 60, 30 * 24 * 3600),
    heartbeatIntervalSeconds,
    offlineAfterMissedHeartbeats: int(env, 'OFFLINE_AFTER_MISSED_HEARTBEATS', 3, 1, 100),
    sweepIntervalMs: int(env, 'SWEEP_INTERVAL_MS', Math.min(heartbeatIntervalSeconds * 1000, 10_000), 100, 3_600_000),
    ephemeralNodeTtlSeconds: int(env, 'EPHEMERAL_NODE_TTL_SECONDS', 1800, 1, 365 * 24 * 3600),
    authRateLimitPerMinute: int(env, 'AUTH_RATE_LIMIT', 20, 1, 1_000_000),
    loginFailureLimit: int(env, 'LOGIN_FAILURE_LIMIT', 10, 1, 1_000_000),
    writeRateLimitPerMinute: int(env, 'WRITE_RATE_LIMIT', 600, 1, 10_000_000),
    heartbeatRateLimit: int(env, 'HEARTBEAT_RATE_LIMIT', 5, 1, 1_000_000),
    sseStreamsPerNode: int(env, 'SSE_STREAMS_PER_NODE', 4, 1, 1000),
    sseStreamsTotal: int(env, 'SSE_STREAMS_TOTAL', 20_000, 1, 1_000_000),
    trustProxy: trustProxy(env),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    connectionTimeoutMs: int(env, 'CONNECTION_TIMEOUT_MS', 75_000, 100, 3_600_000),
    ssePingMs: int(env, 'SSE_PING_MS', 15_000, 100, 3_600_000),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    groupCommitMaxWaitMs: int(env, 'GROUP_COMMIT_MAX_WAIT_MS', 0, 0, 100),
    writeBusyWaitMs: int(env, 'WRITE_BUSY_TIMEOUT_MS', 5_000, 0, 60_000),
    minFreeDiskBytes: int(env, 'MIN_FREE_DISK_BYTES', 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    logLevel,
    metricsHost: metricsHost(env),
    metricsPort: int(env, 'METRICS_PORT', 9464, 0, 65535),
    metricsToken: metricsToken(env),
    schedulerClock: clock,
    manualClockStart: manualClockStart(env, clock),
    registration: registration(env),
    oidc: oidc(env),
    publicUrl: publicUrl(env),
    agentDownloadDir: resolve(env.AGENT_DOWNLOAD_DIR || './dist/agent'),
    consoleDir: resolve(env.CONSOLE_DIR || './dist/apps/console'),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
