import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideNode, streams } from '@meshgate/domain';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { NodeConfigView } from '../../projections/node-config.view';
import { NodesView } from '../../projections/nodes.view';
import { decideAgainOnRace } from '../../projections/decide-again';
import { ViewFeeder } from '../../projections/view-feeder';
import { LiveStats } from '../live-stats';
import { RecordHeartbeatCommand } from './record-heartbeat.command';

/**
 * The hot path: state from the node snapshot, one event, answered after its group commit. Heartbeats of one node are
 * serialised (an agent retrying while its previous heartbeat is in flight must not get 409), and a race with another
 * writer of the stream (the offline sweeper, a removal) is retried against the new state.
 */
@CommandHandler(RecordHeartbeatCommand)
export class RecordHeartbeatHandler implements ICommandHandler<RecordHeartbeatCommand, void> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly configs: NodeConfigView,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
    private readonly live: LiveStats,
  ) {}

  execute(command: RecordHeartbeatCommand): Promise<void> {
    return this.locks.run(`node-heartbeat:${command.nodeId}`, () => decideAgainOnRace(this.views, () => this.record(command)));
  }

  private async record({ tenantId, nodeId, dto, meta }: RecordHeartbeatCommand): Promise<void> {
    const { state, version } = this.nodes.stateOf(nodeId, tenantId);
    // The wall clock, not CLOCK: a heartbeat is judged against the agent's own handshake times and the log's recordedAt
    // (its baseline's), both real; a manual test clock set elsewhere would make every handshake look stale.
    const now = new Date();
    const report = {
      endpoint: dto.endpoint, rxBytes: dto.rxBytes, txBytes: dto.txBytes, candidates: dto.candidates, seenFrom: meta.sourceAddress,
      peers: dto.peers?.map((p) => ({ publicKey: p.publicKey, lastHandshakeAt: p.lastHandshakeAt ?? null, rxBytes: p.rxBytes, txBytes: p.txBytes })),
    };
    const events = decideNode({
      type: 'RecordHeartbeat', nodeId, ...report, knownPeers: { has: (publicKey) => this.isPeer(tenantId, nodeId, publicKey) },
    }, state, { now });
    // Only the actor: a request id on every heartbeat would be most of a steady-state heartbeat's bytes in the log
    // (the request log keeps it).
    await this.store.append({
      tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: { actor: meta.actor },
    });
    this.live.record(nodeId, report, now, state.lastSeenAt);
  }

  private isPeer(tenantId: string, nodeId: string, publicKey: string): boolean {
    const other = this.nodes.idOfPublicKey(tenantId, publicKey);
    return other !== undefined && this.configs.arePeers(nodeId, other);
  }
}
