import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { type AgentConfig, ConfigError, loadAgentConfig } from '../agent-config';
import { sleep } from '../control-plane/config-stream';
import { type AgentStatus, isOnline, processAlive as alive, readAgentStatus } from '../status/agent-status';
import type { CommandIo } from './command-line';

const DEFAULT_STATE_DIR = '/var/lib/meshgate';

/** The config as the agent reads it (file, then MESHGATE_* variables); without a file, only where the state is. */
export async function loadInstalledConfig(path: string, env: NodeJS.ProcessEnv): Promise<Pick<AgentConfig, 'stateDir' | 'interfaceName'>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError('config file', `${path} cannot be read (${(err as NodeJS.ErrnoException).code})`);
    return { stateDir: env.MESHGATE_STATE_DIR || DEFAULT_STATE_DIR, interfaceName: env.MESHGATE_INTERFACE_NAME || 'mg0' };
  }
  return loadAgentConfig(text, env, hostname());
}

/**
 * `status`: what the running agent last wrote to state_dir/status.json. Exit 0 when the node is online (the writer
 * is alive, its config is live and the control plane took its last heartbeat), 1 otherwise; `--wait` polls until it is.
 */
export async function runStatus(opts: { config: string; json?: boolean; wait?: string }, io: CommandIo): Promise<number> {
  const waitSeconds = opts.wait === undefined ? 0 : Number(opts.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > 3600) {
    io.err('meshgate-agent status: --wait must be a number of seconds between 0 and 3600\n');
    return 2;
  }
  let stateDir: string;
  try {
    stateDir = (await loadInstalledConfig(opts.config, io.env)).stateDir;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`meshgate-agent status: ${err.message}\n`);
    return 2;
  }
  const deadline = Date.now() + waitSeconds * 1000;
  let status = await readAgentStatus(stateDir);
  while ((status === null || !isOnline(status, alive)) && Date.now() < deadline) {
    await sleep(250, new AbortController().signal);
    status = await readAgentStatus(stateDir);
  }
  if (status === null) {
    io.err(`no agent status in ${stateDir} (the agent has not run, or has not registered yet)\n`);
    return 1;
  }
  const online = isOnline(status, alive);
  io.out(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status, alive(status.pid), Date.now()));
  return online ? 0 : 1;
}

const ago = (iso: string | null, now: number) => (iso === null ? 'never' : `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))}s ago`);

export function formatStatus(status: AgentStatus, running: boolean, now: number): string {
  const { node, heartbeat, config, enforcement } = status;
  const online = running && config !== null && heartbeat?.ok === true;
  const lines = [
    `state        ${online ? 'online' : running ? 'running, not online' : 'not running'}`,
    `node         ${node.name} (${node.id}) ${node.address} on ${node.interface}`,
    `agent        ${status.agentVersion}, pid ${status.pid}${running ? '' : ' (gone)'}, started ${ago(status.startedAt, now)}`,
    `control      ${status.controlPlaneUrls.join(', ')}; last heartbeat ${heartbeat === null ? 'none yet' : `${ago(heartbeat.at, now)} ${heartbeat.ok ? 'ok' : `failed: ${heartbeat.error}`}`}`,
    `config       ${config === null ? 'none applied yet' : `version ${config.version}, applied ${ago(config.appliedAt, now)}`}`,
    `enforcement  ${enforcement === null ? 'none yet' : `nft table ${enforcement.nftTable}: ${enforcement.firewallRules} firewall rules, ${enforcement.qosRules} QoS rules; `
      + `serves ${enforcement.servedRoutes.join(', ') || 'no routes'}; routes ${enforcement.routes.join(', ') || 'none'}`}`,
    `peers        ${status.peers.length}`,
  ];
  for (const peer of status.peers) {
    lines.push(`  ${peer.publicKey}  ${peer.name ?? '-'}  ${peer.allowedIps.join(',')}  ${peer.group ?? '-'}  ${peer.endpoint ?? '-'} (${peer.path ?? '-'})  `
      + `handshake ${ago(peer.lastHandshakeAt, now)}  rx ${peer.rxBytes} tx ${peer.txBytes}`);
  }
  return lines.join('\n') + '\n';
}
