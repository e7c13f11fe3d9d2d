import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeConfig } from '../contracts';
import { tableName } from '../enforcement/nft-ruleset';
import type { LiveInterface } from '../wireguard/wireguard-port';

/**
 * What the running agent last knew, for `meshgate-agent status`: written to `state_dir/status.json` (0600, replaced
 * atomically) after each applied config and each heartbeat. A file rather than a local socket: nothing more listens,
 * it needs the same root access as the state it describes, and it still tells what happened after the agent stopped.
 */
export interface AgentStatus {
  agentVersion: string;
  pid: number;
  startedAt: string;
  updatedAt: string;
  node: { id: string; name: string; address: string; publicKey: string; interface: string };
  controlPlaneUrls: string[];
  /** The last heartbeat this process sent: accepted (`ok`) or why not. */
  heartbeat: { at: string; ok: boolean; error: string | null } | null;
  /** The config version live on the interface. */
  config: { version: number; appliedAt: string } | null;
  enforcement: { nftTable: string; firewallRules: number; qosRules: number; servedRoutes: string[]; routes: string[] } | null;
  peers: StatusPeer[];
}

export interface StatusPeer {
  publicKey: string;
  allowedIps: string[];
  /** The peer's policy group, as the config names it. */
  group: string | null;
  endpoint: string | null;
  /** The peer's node name (what mesh DNS answers), when the control plane sent it. */
  name?: string;
  /** How this node reaches the peer (paths/path-selector.ts: direct, relayed, trying-direct, …), when known. */
  path?: string;
  lastHandshakeAt: string | null;
  rxBytes: number;
  txBytes: number;
}

export const STATUS_FILE = 'status.json';

export const statusPath = (stateDir: string) => join(stateDir, STATUS_FILE);

/** Online: the process that wrote it is alive, its config is live and the control plane took its last heartbeat. */
export function isOnline(status: AgentStatus, alive: (pid: number) => boolean): boolean {
  return alive(status.pid) && status.config !== null && status.heartbeat?.ok === true;
}

/** Whether a process with this id runs (EPERM: it does, as someone else; a zombie, never reaped, does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: kill(0) has to do
  }
}

export async function readAgentStatus(stateDir: string): Promise<AgentStatus | null> {
  try {
    return JSON.parse(await readFile(statusPath(stateDir), 'utf8')) as AgentStatus;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Keeps status.json current for one agent process; writes are serialised and never fail the agent. */
export class StatusRecorder {
  private status: AgentStatus;
  private applied: NodeConfig | null = null;
  private live = new Map<string, { endpoint: string | null; latestHandshake: number; rxBytes: number; txBytes: number }>();
  private paths: ReadonlyMap<string, string> = new Map();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    base: Pick<AgentStatus, 'agentVersion' | 'node' | 'controlPlaneUrls'>,
    private readonly now: () => Date = () => new Date(),
  ) {
    const at = this.now().toISOString();
    this.status = { ...base, pid: process.pid, startedAt: at, updatedAt: at, heartbeat: null, config: null, enforcement: null, peers: [] };
  }

  /** Called after every reconcile (drift checks too): writes only when the live version changed. */
  configApplied(config: NodeConfig): Promise<void> {
    if (this.status.config?.version === config.version) return this.writing;
    this.applied = config;
    this.status.config = { version: config.version, appliedAt: this.now().toISOString() };
    this.status.enforcement = {
      nftTable: tableName(this.status.node.interface),
      firewallRules: config.firewall.length,
      qosRules: config.qos.length,
      servedRoutes: config.servedRoutes,
      routes: config.routes.map((r) => `${r.destination} via ${r.via}`),
    };
    return this.write();
  }

  /** `paths`: each peer's path state, by public key (from the path manager). */
  heartbeatSent(live: LiveInterface | null, error: unknown, paths: ReadonlyMap<string, string> = new Map()): Promise<void> {
    this.live = new Map((live?.peers ?? []).map((p) => [p.publicKey, p]));
    this.paths = paths;
    this.status.heartbeat = { at: this.now().toISOString(), ok: error === null, error: error === null ? null : String((error as Error).message ?? error) };
    return this.write();
  }

  keyRotated(publicKey: string): Promise<void> {
    this.status.node = { ...this.status.node, publicKey };
    return this.write();
  }

  /** Waits for the writes in flight. */
  idle(): Promise<void> {
    return this.writing;
  }

  private write(): Promise<void> {
    this.status.updatedAt = this.now().toISOString();
    this.status.peers = (this.applied?.peers ?? []).map((peer) => {
      const live = this.live.get(peer.publicKey);
      return {
        publicKey: peer.publicKey,
        allowedIps: peer.allowedIps,
        group: peer.group ?? null,
        endpoint: live?.endpoint ?? peer.endpoint,
        ...(peer.name !== undefined ? { name: peer.name } : {}),
        ...(this.paths.has(peer.publicKey) ? { path: this.paths.get(peer.publicKey) } : {}),
        lastHandshakeAt: live && live.latestHandshake > 0 ? new Date(live.latestHandshake * 1000).toISOString() : null,
        rxBytes: live?.rxBytes ?? 0,
        txBytes: live?.txBytes ?? 0,
      };
    });
    const text = JSON.stringify(this.status, null, 2) + '\n';
    const path = statusPath(this.stateDir);
    // A status write that fails (state_dir removed by an uninstall) must not stop the agent: the next one retries.
    this.writing = this.writing
      .then(() => writeFile(`${path}.tmp`, text, { mode: 0o600 }))
      .then(() => rename(`${path}.tmp`, path))
      .catch(() => undefined);
    return this.writing;
  }
}
