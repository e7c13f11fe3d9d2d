import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideRelayPath, DomainError, hostPort, pairKey, streams } from '@meshgate/domain';
import type { RelayPath } from '@meshgate/contracts';
import { KeyedMutex } from '../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { decideAgainOnRace } from '../projections/decide-again';
import { NodeConfigView } from '../projections/node-config.view';
import { NodesView } from '../projections/nodes.view';
import { ViewFeeder } from '../projections/view-feeder';
import { RelayPathCommand } from './relay-path.command';

/**
 * Relay paths are decided on the tenant's relays stream (ports on its relays are allocated there, so one stream
 * serialises them): the lock is the fast path in this replica, the stream's expected version the guarantee across
 * replicas. Answers the path as this node dials it (open), or nothing (close).
 */
@CommandHandler(RelayPathCommand)
export class RelayPathHandler implements ICommandHandler<RelayPathCommand, RelayPath | null> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly configs: NodeConfigView,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
  ) {}

  execute(command: RelayPathCommand): Promise<RelayPath | null> {
    return this.locks.run(`relays:${command.tenantId}`, () => decideAgainOnRace(this.views, () => this.decide(command)));
  }

  private async decide({ action, tenantId, nodeId, peerKey, meta }: RelayPathCommand): Promise<RelayPath | null> {
    const peerId = this.nodes.idOfPublicKey(tenantId, peerKey);
    if (peerId === undefined) throw new DomainError('NOT_A_PEER', 'NOT_FOUND', 'the node has no such peer');
    const { paths, version } = this.configs.relayPathsState(tenantId);
    const events = decideRelayPath({ type: action === 'open' ? 'OpenRelayPath' : 'CloseRelayPath', tenantId, nodeId, peerId }, paths, {
      relays: this.configs.usableRelays(tenantId),
      arePeers: (a, b) => this.configs.arePeers(a, b),
      isLive: (id) => this.configs.isLive(id),
      seenFrom: (id) => this.configs.seenFromOf(id),
    });
    if (events.length) {
      await this.store.append({ tenantId, streams: [{ streamId: streams.relays(tenantId), expectedVersion: version, events }], metadata: meta });
    }
    if (action === 'close') return null;
    const opened = events.find((e) => e.type === 'RelayPathOpened');
    const path = opened?.type === 'RelayPathOpened' ? opened.data : paths.get(pairKey(nodeId, peerId))!;
    const host = this.configs.relayHostOfNode(path.relayNodeId)!;
    return { publicKey: peerKey, endpoint: hostPort(host, path.ports[path.nodes.indexOf(nodeId)]) };
  }
}
