import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The one typed configuration of the control plane, read from the environment and validated at boot. */
export interface AppConfig {
  host: string;
  port: number;
  databasePath: string;
  jwtSecret: string;
  jwtExpiresInSeconds: number;
  heartbeatIntervalSeconds: number;
  /** A node that missed this many heartbeat intervals is marked offline. */
  offlineAfterMissedHeartbeats: number;
  sweepIntervalMs: number;
  authRateLimitPerMinute: number;
  ssePingMs: number;
  bodyLimitBytes: number;
  /** Longest time an append waits for others to join its transaction. */
  groupCommitMaxWaitMs: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug';
  /**
   * `system`, or `manual` for tests: the scheduler then reads a clock that only PUT /api/v1/test-clock moves, so
   * a test can open and close schedule windows without waiting for them. Never use `manual` in production.
   */
  schedulerClock: 'system' | 'manual';
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
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
function jwtSecret(env: NodeJS.ProcessEnv, databasePath: string): string {
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

function schedulerClock(env: NodeJS.ProcessEnv): AppConfig['schedulerClock'] {
  const value = env.SCHEDULER_CLOCK || 'system';
  if (value !== 'system' && value !== 'manual') throw new ConfigError('SCHEDULER_CLOCK must be system|manual');
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const databasePath = resolve(env.DATABASE_PATH || './data/meshgate.sqlite');
  mkdirSync(dirname(databasePath), { recursive: true, mode: 0o700 });
  const logLevel = (env.LOG_LEVEL || 'log') as AppConfig['logLevel'];
  if (!['error', 'warn', 'log', 'debug'].includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be error|warn|log|debug`);
  const heartbeatIntervalSeconds = int(env, 'HEARTBEAT_INTERVAL_SECONDS', 30, 1, 3600);
  return {
    host: env.HOST || '0.0.0.0',
    port: int(env, 'PORT', 8080, 0, 65535),
    databasePath,
    jwtSecret: jwtSecret(env, databasePath),
    jwtExpiresInSeconds: int(env, 'JWT_EXPIRES_IN_SECONDS', 3600, 60, 30 * 24 * 3600),
    heartbeatIntervalSeconds,
    offlineAfterMissedHeartbeats: int(env, 'OFFLINE_AFTER_MISSED_HEARTBEATS', 3, 1, 100),
    sweepIntervalMs: int(env, 'SWEEP_INTERVAL_MS', Math.min(heartbeatIntervalSeconds * 1000, 10_000), 100, 3_600_000),
    authRateLimitPerMinute: int(env, 'AUTH_RATE_LIMIT', 20, 1, 1_000_000),
    ssePingMs: int(env, 'SSE_PING_MS', 15_000, 100, 3_600_000),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    groupCommitMaxWaitMs: int(env, 'GROUP_COMMIT_MAX_WAIT_MS', 0, 0, 100),
    logLevel,
    schedulerClock: schedulerClock(env),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
