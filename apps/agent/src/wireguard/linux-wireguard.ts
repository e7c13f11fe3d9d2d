import { canonicalPrefix } from '../contracts';
import type { Logger } from '../logger';
import { isMissing, runCommand, runDetached, type RunCommand } from './command-runner';
import { parseWgDump, wgDumpFwmark } from './wg-dump';
import type { LiveInterface, PlanStep, WireGuardPort } from './wireguard-port';

/** Peers per `wg set` call: batching keeps big changes to a few processes while keeping argv small. */
const PEERS_PER_CALL = 200;
/** Routes the agent adds carry this protocol so it can tell them from anyone else's. */
const ROUTE_PROTO = 'static';

interface IpAddrInfo { family: string; local: string; prefixlen: number; scope?: string }
interface IpLink { flags?: string[]; addr_info?: IpAddrInfo[] }
interface IpRoute { dst: string }

export interface LinuxWireGuardOptions {
  interfaceName: string;
  privateKeyPath: string;
  logger: Logger;
  run?: RunCommand;
  startUserspace?: (file: string, args: string[]) => Promise<void>;
}

/**
 * WireGuard on Linux with `ip` and `wg`: kernel WireGuard when the module is there, else Debian's userspace
 * `wireguard-go`. The private key is handed to `wg` as a file path, never as an argument.
 */
export class LinuxWireGuard implements WireGuardPort {
  readonly interfaceName: string;
  private readonly run: RunCommand;
  private readonly startUserspace: (file: string, args: string[]) => Promise<void>;
  private kernelSupported: boolean | null = null;

  constructor(private readonly options: LinuxWireGuardOptions) {
    this.interfaceName = options.interfaceName;
    this.run = options.run ?? runCommand;
    this.startUserspace = options.startUserspace ?? runDetached;
  }

  async read(): Promise<LiveInterface | null> {
    const link = await this.readLink();
    if (link === null) return null;
    let dumpText: string;
    try {
      dumpText = await this.run('wg', ['show', this.interfaceName, 'dump']);
    } catch (err) {
      // The link exists but nothing answers for it: a userspace daemon that died or an unrelated device.
      this.options.logger.warn('interface exists but WireGuard does not answer for it', { err });
      return null;
    }
    const dump = parseWgDump(dumpText);
    const routes = JSON.parse(
      (await this.run('ip', ['-j', 'route', 'show', 'dev', this.interfaceName, 'proto', ROUTE_PROTO])) || '[]',
    ) as IpRoute[];
    return {
      publicKey: dump.publicKey,
      listenPort: dump.listenPort,
      up: (link.flags ?? []).includes('UP'),
      addresses: (link.addr_info ?? [])
        .filter((a) => a.scope !== 'link')
        .map((a) => `${a.local}/${a.prefixlen}`),
      routes: routes.map((r) => canonicalPrefix(r.dst) ?? r.dst),
      peers: dump.peers,
      fwmark: wgDumpFwmark(dumpText),
    };
  }

  async create(): Promise<void> {
    if ((await this.readLink()) !== null) await this.destroy();
    if (this.kernelSupported !== false) {
      try {
        await this.run('ip', ['link', 'add', this.interfaceName, 'type', 'wireguard']);
        this.kernelSupported = true;
        this.options.logger.info('created kernel WireGuard interface', { interface: this.interfaceName });
        return;
      } catch (err) {
        if (this.kernelSupported === true) throw err;
        this.kernelSupported = false;
        this.options.logger.info('kernel WireGuard unavailable, using wireguard-go', { reason: (err as Error).message });
      }
    }
    await this.startUserspace('wireguard-go', [this.interfaceName]);
    this.options.logger.info('started wireguard-go', { interface: this.interfaceName });
  }

  async apply(steps: PlanStep[]): Promise<void> {
    const ifname = this.interfaceName;
    let peerArgs: string[] = [];
    let peersInBatch = 0;
    const flushPeers = async () => {
      if (peersInBatch === 0) return;
      await this.run('wg', ['set', ifname, ...peerArgs]);
      peerArgs = [];
      peersInBatch = 0;
    };
    for (const step of steps) {
      if (step.kind === 'remove-peer' || step.kind === 'upsert-peer' || step.kind === 'set-endpoint' || step.kind === 'send-keepalive') {
        peerArgs.push(...peerArguments(step));
        if (++peersInBatch >= PEERS_PER_CALL) await flushPeers();
        continue;
      }
      await flushPeers();
      switch (step.kind) {
        case 'set-private-key':
          await this.run('wg', ['set', ifname, 'private-key', this.options.privateKeyPath]);
          break;
        case 'set-listen-port':
          await this.run('wg', ['set', ifname, 'listen-port', String(step.port)]);
          break;
        case 'add-address':
          await this.run('ip', ['address', 'add', step.address, 'dev', ifname]);
          break;
        case 'remove-address':
          await this.run('ip', ['address', 'del', step.address, 'dev', ifname]);
          break;
        case 'set-link-up':
          await this.run('ip', ['link', 'set', ifname, 'up']);
          break;
        case 'add-route':
          await this.run('ip', ['route', 'replace', step.destination, 'dev', ifname, 'proto', ROUTE_PROTO]);
          break;
        case 'remove-route':
          await this.run('ip', ['route', 'del', step.destination, 'dev', ifname, 'proto', ROUTE_PROTO]);
          break;
        default: {
          const unexpected: never = step;
          throw new Error(`unknown plan step ${JSON.stringify(unexpected)}`);
        }
      }
    }
    await flushPeers();
  }

  async destroy(): Promise<void> {
    try {
      await this.run('ip', ['link', 'del', this.interfaceName]);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  private async readLink(): Promise<IpLink | null> {
    try {
      const links = JSON.parse(await this.run('ip', ['-j', 'address', 'show', 'dev', this.interfaceName])) as IpLink[];
      return links[0] ?? null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }
}

type PeerStep = Extract<PlanStep, { kind: 'remove-peer' | 'upsert-peer' | 'set-endpoint' | 'send-keepalive' }>;

function peerArguments(step: PeerStep): string[] {
  if (step.kind === 'remove-peer') return ['peer', step.publicKey, 'remove'];
  if (step.kind === 'set-endpoint') return ['peer', step.publicKey, 'endpoint', step.endpoint];
  if (step.kind === 'send-keepalive') {
    // The same peer twice in one call, in order: off, then on again, and the turning on sends a keepalive at once.
    return ['peer', step.publicKey, 'persistent-keepalive', 'off', 'peer', step.publicKey, 'persistent-keepalive', String(step.persistentKeepalive)];
  }
  const { peer } = step;
  const args = ['peer', peer.publicKey];
  if (step.setEndpoint && peer.endpoint !== null) args.push('endpoint', peer.endpoint);
  args.push('persistent-keepalive', peer.persistentKeepalive > 0 ? String(peer.persistentKeepalive) : 'off');
  args.push('allowed-ips', peer.allowedIps.join(','));
  return args;
}
