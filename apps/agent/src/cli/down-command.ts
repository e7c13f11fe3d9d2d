import { join } from 'node:path';
import { ConfigError } from '../agent-config';
import { LinuxEnforcement } from '../enforcement/linux-enforcement';
import { createLogger } from '../logger';
import { processAlive, readAgentStatus } from '../status/agent-status';
import { LinuxWireGuard } from '../wireguard/linux-wireguard';
import type { CommandIo } from './command-line';
import { loadInstalledConfig } from './status-command';

/**
 * `down`: what `--down-on-exit` does when the agent stops — the firewall table, qdisc and exit routing first, then
 * the interface (with it its wireguard-go). Refused while the agent runs: its drift check would bring it back.
 */
export async function runDown(opts: { config: string }, io: CommandIo): Promise<number> {
  let config;
  try {
    config = await loadInstalledConfig(opts.config, io.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`meshgate-agent down: ${err.message}\n`);
    return 2;
  }
  const status = await readAgentStatus(config.stateDir);
  if (status !== null && status.pid !== process.pid && processAlive(status.pid)) {
    io.err(`meshgate-agent down: the agent is running (pid ${status.pid}); stop it first (systemctl stop meshgate-agent)\n`);
    return 1;
  }
  const logger = createLogger({ level: 'warn', write: (line) => io.err(line + '\n') });
  await new LinuxEnforcement({ interfaceName: config.interfaceName, logger }).destroy();
  await new LinuxWireGuard({ interfaceName: config.interfaceName, privateKeyPath: join(config.stateDir, 'private.key'), logger }).destroy();
  io.out(`removed ${config.interfaceName} and its firewall table\n`);
  return 0;
}
