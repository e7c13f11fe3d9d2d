import type { NodeConfig } from '../contracts';
import { MeshDnsServer } from '../dns/mesh-dns-server';
import { meshNames } from '../dns/mesh-names';
import { ResolvedRegistration } from '../dns/resolved-registration';
import type { Logger } from '../logger';
import { PathManager } from '../paths/path-manager';
import type { PeerPath } from '../paths/path-selector';
import { RelayForwarder, type RelayStats } from '../relay/relay-forwarder';
import type { RunCommand } from '../wireguard/command-runner';
import type { WireGuardPort } from '../wireguard/wireguard-port';
import { CandidateFinder } from './candidate-finder';

export interface MeshServicesOptions {
  interfaceName: string;
  listenPort: number;
  wireguard: WireGuardPort;
  run: RunCommand;
  logger: Logger;
  /** Relay path requests and releases, with the node's own token (the control-plane client). */
  requestRelay(publicKey: string): Promise<void>;
  releaseRelay(publicKey: string): Promise<void>;
  /** 53 unless a test needs another. */
  dnsPort?: number;
}

/**
 * What the agent runs beside the interface, following each applied config: names in the mesh (DNS on the overlay
 * address, registered with systemd-resolved when present), the path to each peer (direct, or through a relay), the
 * relay forwarder on a relay node, and the candidates its heartbeats report.
 */
export class MeshServices {
  private readonly dns: MeshDnsServer;
  private readonly resolved: ResolvedRegistration;
  private readonly relay: RelayForwarder;
  private readonly paths: PathManager;
  private readonly candidates: CandidateFinder;
  private reflectors: readonly string[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: MeshServicesOptions) {
    const log = options.logger;
    this.dns = new MeshDnsServer({ port: options.dnsPort ?? 53, logger: log.child({ component: 'dns' }) });
    this.resolved = new ResolvedRegistration({ run: options.run, logger: log.child({ component: 'dns' }) });
    this.relay = new RelayForwarder({ logger: log.child({ component: 'relay' }) });
    this.paths = new PathManager({
      wireguard: options.wireguard, requestRelay: options.requestRelay, releaseRelay: options.releaseRelay, logger: log.child({ component: 'paths' }),
    });
    this.candidates = new CandidateFinder({ listenPort: options.listenPort, interfaceName: options.interfaceName, logger: log.child({ component: 'candidates' }) });
    this.paths.start();
  }

  /** A config is live on the interface: every service follows it (in order; a failure is logged and retried next time). */
  applied(config: NodeConfig): Promise<void> {
    this.paths.update(config);
    this.reflectors = config.reflectors ?? [];
    this.queue = this.queue.then(() => this.follow(config));
    return this.queue;
  }

  /** Where peers may dial this node, for the next heartbeat. */
  findCandidates(): Promise<string[]> {
    return this.candidates.find(this.reflectors);
  }

  relayStats(): RelayStats {
    return this.relay.stats();
  }

  peerPaths(): PeerPath[] {
    return this.paths.paths();
  }

  async stop(): Promise<void> {
    await this.paths.stop();
    await this.queue;
    await Promise.all([this.dns.close(), this.relay.close()]);
  }

  private async follow(config: NodeConfig): Promise<void> {
    const log = this.options.logger;
    const names = meshNames(config);
    const address = names?.selfAddress ?? null;
    await this.dns.serve(address, names).catch((err) => log.warn('could not serve mesh names', { address, err }));
    if (names) await this.resolved.register(this.options.interfaceName, names.selfAddress, names.domain);
    else await this.resolved.revert(this.options.interfaceName).catch(() => undefined);
    await this.relay.apply(config.relay ?? null).catch((err) => log.warn('could not serve every relay forward', { err }));
  }
}
