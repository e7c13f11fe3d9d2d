import { isAbsolute } from 'node:path';
import { ENDPOINT_PATTERN, isCidr, NODE_NAME_PATTERN, TAG_PATTERN } from './contracts';
import { readCaBundle } from './control-plane/ca-fetch';
import type { LogLevel } from './logger';

/** The agent's settings, after the file, then `MESHGATE_*` variables, have been applied over the defaults. */
export interface AgentConfig {
  /**
   * Where the control plane answers, in the order to try them: one URL, or one per replica. The agent uses one at
   * a time and moves to the next when it cannot reach it. Never empty, no duplicates, no trailing slash.
   */
  controlPlaneUrls: string[];
  /** A PEM file of the CA (or certificate) that alone may vouch for the control plane's https:// certificate. */
  controlPlaneCa: string | null;
  /** Informational: the enrollment key or tenant token already names the tenant. */
  tenantId: string | null;
  /** Needed only for the first registration; later starts use the node token kept in state_dir. */
  authToken: string | null;
  interfaceName: string;
  /** Seconds between heartbeats. */
  heartbeatInterval: number;
  /** Seconds between checks of the live interface against the desired config (drift repair). */
  reconcileInterval: number;
  nodeName: string;
  endpoint: string | null;
  listenPort: number;
  tags: string[];
  /** Prefixes this node offers to route for the mesh (sent at registration; an admin or autoApprovers approve). */
  advertiseRoutes: string[];
  /** Name of the exit node to use (sent at registration). */
  exitNode: string | null;
  stateDir: string;
  logLevel: LogLevel;
  /** Seconds before its key expires (the config's `key.expiresAt`) that the agent rotates it. */
  keyRotationMargin: number;
  /**
   * Port of the agent's Prometheus metrics on 127.0.0.1 (`/metrics`), or null (the default): off, because any local
   * user can read a loopback port and the figures name every peer's key and handshake age.
   */
  metricsPort: number | null;
}

/** A bad setting; the message names the key so the user knows what to fix. Exit code 2. */
export class ConfigError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid config ${key}: ${reason}`);
  }
}

type Raw = unknown;
type Parser<T> = (raw: Raw, key: string) => T;

const text: Parser<string> = (raw, key) => {
  if (typeof raw !== 'string' || raw.length === 0) throw new ConfigError(key, 'must be a non-empty string');
  return raw;
};

const matching = (pattern: RegExp, what: string): Parser<string> => (raw, key) => {
  const value = text(raw, key);
  if (!pattern.test(value)) throw new ConfigError(key, `must be ${what}`);
  return value;
};

const number = (min: number, max: number, integer: boolean): Parser<number> => (raw, key) => {
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(key, `must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`);
  }
  return value;
};

const url: Parser<string> = (raw, key) => {
  const value = text(raw, key);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(key, 'must be an http(s) URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(key, 'must be an http(s) URL');
  return value.replace(/\/+$/, '');
};

/** A list of URLs, as a list or comma-separated; a bad entry is named by its index (`control_plane_urls[1]`). */
const urls: Parser<string[]> = (raw, key) => {
  const list = typeof raw === 'string' ? raw.split(',').map((u) => u.trim()).filter((u) => u !== '') : raw;
  if (!Array.isArray(list)) throw new ConfigError(key, 'must be a list of http(s) URLs');
  return list.map((item, i) => url(item, `${key}[${i}]`));
};

/** A list of strings matching `pattern`, as a list or (environment values are strings) comma-separated. */
const listOf = (pattern: { test(item: string): boolean }, what: string, bad: (item: string) => string): Parser<string[]> => (raw, key) => {
  const list = typeof raw === 'string' ? raw.split(',').map((t) => t.trim()).filter((t) => t !== '') : raw;
  if (!Array.isArray(list)) throw new ConfigError(key, `must be a list of ${what}`);
  return list.map((item) => {
    if (typeof item !== 'string' || !pattern.test(item)) throw new ConfigError(key, bad(JSON.stringify(item)));
    return item;
  });
};

/** Tailscale's `tag:web`; a bare `web` is read as `tag:web`. */
const tagList = listOf(TAG_PATTERN, 'tags', (tag) => `tag ${tag} must be "tag:<name>" (or a bare <name>), the name lowercase letters, digits and dashes`);
const tags: Parser<string[]> = (raw, key) => [...new Set(tagList(raw, key).map((t) => (t.startsWith('tag:') ? t : `tag:${t}`)))];
const prefixes = listOf({ test: isCidr }, 'prefixes such as 10.1.0.0/24', (p) => `${p} is not a prefix such as 10.1.0.0/24`);

const absolutePath: Parser<string> = (raw, key) => {
  const value = text(raw, key);
  if (!isAbsolute(value)) throw new ConfigError(key, 'must be an absolute path');
  return value;
};

/** An absolute path to a readable file of PEM certificates; kept as the path, read when the client is built. */
const caFile: Parser<string> = (raw, key) => {
  const file = absolutePath(raw, key);
  try {
    readCaBundle(file);
  } catch (err) {
    throw new ConfigError(key, (err as NodeJS.ErrnoException).code ? `${file} cannot be read (${(err as NodeJS.ErrnoException).code})` : (err as Error).message);
  }
  return file;
};

const level: Parser<LogLevel> = (raw, key) => {
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
  throw new ConfigError(key, 'must be one of debug, info, warn, error');
};

/** File keys (snake_case, as users know them) → field and parser. */
const KEYS = {
  control_plane_url: { field: 'controlPlaneUrls', parse: url },
  control_plane_urls: { field: 'controlPlaneUrls', parse: urls },
  control_plane_ca: { field: 'controlPlaneCa', parse: caFile },
  tenant_id: { field: 'tenantId', parse: text },
  auth_token: { field: 'authToken', parse: text },
  interface_name: { field: 'interfaceName', parse: matching(/^[A-Za-z0-9_.=+-]{1,15}$/, 'a Linux interface name (1-15 characters)') },
  heartbeat_interval: { field: 'heartbeatInterval', parse: number(0.1, 3600, false) },
  reconcile_interval: { field: 'reconcileInterval', parse: number(0.1, 3600, false) },
  node_name: { field: 'nodeName', parse: matching(NODE_NAME_PATTERN, 'lowercase letters, digits and dashes (1-63)') },
  endpoint: { field: 'endpoint', parse: matching(ENDPOINT_PATTERN, 'host:port') },
  listen_port: { field: 'listenPort', parse: number(1, 65535, true) },
  tags: { field: 'tags', parse: tags },
  advertise_routes: { field: 'advertiseRoutes', parse: prefixes },
  exit_node: { field: 'exitNode', parse: matching(NODE_NAME_PATTERN, 'a node name') },
  state_dir: { field: 'stateDir', parse: absolutePath },
  log_level: { field: 'logLevel', parse: level },
  key_rotation_margin: { field: 'keyRotationMargin', parse: number(0, 365 * 24 * 3600, false) },
  metrics_port: { field: 'metricsPort', parse: number(1, 65535, true) },
} as const satisfies Record<string, { field: keyof AgentConfig; parse: Parser<unknown> }>;

type Key = keyof typeof KEYS;
const isKey = (key: string): key is Key => Object.prototype.hasOwnProperty.call(KEYS, key);

/** The config file's keys, in the order of the table above (`meshgate-agent up` has a flag for each). */
export const AGENT_CONFIG_KEYS: readonly string[] = Object.keys(KEYS);

/** One setting as the file would hold it, checked and normalised (`web` → `["tag:web"]`, `"51821"` → 51821). */
export function parseAgentSetting(key: string, raw: unknown): unknown {
  if (!isKey(key)) throw new ConfigError(key, 'is not a known key');
  return KEYS[key].parse(raw, key);
}

/** A host name turned into a valid node name, or null when nothing usable is left. */
export function nodeNameFromHostname(hostname: string): string | null {
  const name = hostname.toLowerCase().split('.')[0].replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return NODE_NAME_PATTERN.test(name) ? name : null;
}

/**
 * Builds the config from the file's JSON text (or none) and the environment. Unknown keys, in the file or as
 * `MESHGATE_*` variables, are refused: a typo must not silently fall back to a default.
 */
export function loadAgentConfig(fileText: string | null, env: NodeJS.ProcessEnv, hostname: string): AgentConfig {
  const raw: Partial<Record<Key, Raw>> = {};
  if (fileText !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fileText);
    } catch (err) {
      throw new ConfigError('config file', `is not valid JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError('config file', 'must hold a JSON object');
    }
    for (const [key, value] of Object.entries(parsed)) {
      if (!isKey(key)) throw new ConfigError(key, 'is not a known key');
      raw[key] = value;
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('MESHGATE_') || value === undefined) continue;
    const key = name.slice('MESHGATE_'.length).toLowerCase();
    if (!isKey(key)) throw new ConfigError(name, 'is not a known setting');
    raw[key] = value;
  }

  const parse = <K extends Key>(key: K): ReturnType<(typeof KEYS)[K]['parse']> | undefined =>
    raw[key] === undefined || raw[key] === null ? undefined : (KEYS[key].parse(raw[key], key) as ReturnType<(typeof KEYS)[K]['parse']>);

  // Both keys may be given (e.g. the single URL in the file, replicas from the environment): the union, single first.
  const single = parse('control_plane_url');
  const controlPlaneUrls = [...new Set([...(single === undefined ? [] : [single]), ...(parse('control_plane_urls') ?? [])])];
  if (controlPlaneUrls.length === 0) throw new ConfigError('control_plane_url', 'is required (or control_plane_urls, a list of URLs)');
  const nodeName = parse('node_name') ?? nodeNameFromHostname(hostname);
  if (nodeName === null) throw new ConfigError('node_name', `is required (host name ${JSON.stringify(hostname)} is not a valid node name)`);

  return {
    controlPlaneUrls,
    controlPlaneCa: parse('control_plane_ca') ?? null,
    tenantId: parse('tenant_id') ?? null,
    authToken: parse('auth_token') ?? null,
    interfaceName: parse('interface_name') ?? 'mg0',
    heartbeatInterval: parse('heartbeat_interval') ?? 30,
    reconcileInterval: parse('reconcile_interval') ?? 5,
    nodeName,
    endpoint: parse('endpoint') ?? null,
    listenPort: parse('listen_port') ?? 51820,
    tags: parse('tags') ?? [],
    advertiseRoutes: parse('advertise_routes') ?? [],
    exitNode: parse('exit_node') ?? null,
    stateDir: parse('state_dir') ?? '/var/lib/meshgate',
    logLevel: parse('log_level') ?? 'info',
    keyRotationMargin: parse('key_rotation_margin') ?? 7 * 24 * 3600,
    metricsPort: parse('metrics_port') ?? null,
  };
}
