import { readFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { AGENT_CONFIG_KEYS, ConfigError, loadAgentConfig, parseAgentSetting } from '../agent-config';
import type { CommandIo } from './command-line';

export const DEFAULT_CONFIG_PATH = '/etc/meshgate/agent.json';

/** Tailscale's spellings for the flags users type most (`--auth-key`, `--name`); every key also has its own. */
const SHORT_FLAGS: Record<string, { flag: string; help: string }> = {
  auth_token: { flag: '--auth-key', help: 'enrollment key for the first registration; file:PATH reads it from a file' },
  node_name: { flag: '--name', help: 'node name (default: the host name)' },
  interface_name: { flag: '--interface', help: 'WireGuard interface (default mg0)' },
};

const HELP: Record<string, string> = {
  control_plane_url: 'the control plane, e.g. https://mesh.example.com',
  control_plane_urls: 'several control-plane URLs (replicas), comma-separated',
  tags: 'comma-separated tags, e.g. tag:web',
  advertise_routes: 'comma-separated prefixes this node offers to route',
  exit_node: 'the node to use as exit node',
  endpoint: 'host:port other nodes dial',
  tenant_id: 'informational: the enrollment key names the tenant',
  listen_port: 'WireGuard UDP port (default 51820)',
  heartbeat_interval: 'seconds between heartbeats (default 30)',
  reconcile_interval: 'seconds between drift checks of the interface (default 5)',
  state_dir: 'where the key and node identity are kept (default /var/lib/meshgate)',
  log_level: 'debug, info, warn or error',
  key_rotation_margin: 'seconds before key expiry to rotate (default 604800)',
};

export interface UpFlag {
  flag: string;
  /** commander's property name for the flag. */
  property: string;
  key: string;
  help: string;
}

const camel = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const flagOf = (key: string) => `--${key.replace(/_/g, '-')}`;

/** A flag per config key (`listen_port` → `--listen-port`), plus the short spellings; an empty value removes the key. */
export const UP_FLAGS: UpFlag[] = AGENT_CONFIG_KEYS.flatMap((key) => {
  const own = { flag: flagOf(key), property: camel(flagOf(key)), key, help: HELP[key] ?? SHORT_FLAGS[key]?.help ?? `config key ${key}` };
  const short = SHORT_FLAGS[key];
  return short ? [{ flag: short.flag, property: camel(short.flag), key, help: short.help }, own] : [own];
});

/**
 * `up`: merges the flags into the config file (keys not given are kept, so an upgrade keeps the settings), checks the
 * result as the agent will read it and only then writes it, mode 0600, by a rename. A bad value exits 2 naming its
 * flag, and leaves the file as it was.
 */
export async function writeUpConfig(path: string, opts: Record<string, unknown>, io: CommandIo): Promise<number> {
  const flagFor = (key: string) => UP_FLAGS.find((f) => f.key === key && opts[f.property] !== undefined)?.flag ?? flagOf(key);
  let settings: Record<string, unknown>;
  try {
    settings = await readSettings(path);
    for (const { property, key } of UP_FLAGS) {
      let value = opts[property];
      if (typeof value !== 'string') continue;
      if (value === '') {
        delete settings[key];
        continue;
      }
      if (key === 'auth_token' && value.startsWith('file:')) value = (await readFile(value.slice(5), 'utf8')).trim();
      settings[key] = parseAgentSetting(key, value);
    }
    loadAgentConfig(JSON.stringify(settings), io.env, hostname());
  } catch (err) {
    if (err instanceof ConfigError) {
      const key = err.key.replace(/\[\d+\]$/, '');
      const what = AGENT_CONFIG_KEYS.includes(key) ? flagFor(key) : err.key;
      io.err(`meshgate-agent up: ${what}: ${err.message.replace(/^invalid config [^:]+: /, '')}\n`);
      return 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    io.err(`meshgate-agent up: ${(err as Error).message}\n`);
    return 2;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFile(`${path}.tmp`, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  io.out(`wrote ${path}\n`);
  return 0;
}

/** The file's settings as they stand (none when it does not exist yet); its own problems are the agent's to name. */
async function readSettings(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('config file', `${path} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('config file', `${path} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}
