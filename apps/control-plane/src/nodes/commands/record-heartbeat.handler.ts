import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideNode, streams } from '@meshgate/domain';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { NodesProjection } from '../../projections/nodes.projection';
import { RecordHeartbeatCommand } from './record-heartbeat.command';

/** The hot path: state from the node snapshot, one event, answered after its group commit. */
@CommandHandler(RecordHeartbeatCommand)
export class RecordHeartbeatHandler implements ICommandHandler<RecordHeartbeatCommand, void> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly nodes: NodesProjection) {}

  async execute({ nodeId, dto, meta }: RecordHeartbeatCommand): Promise<void> {
    const { state, version } = this.nodes.stateOf(nodeId);
    const tenantId = this.nodes.findLive(nodeId)?.tenantId ?? null;
    const events = decideNode({
      type: 'RecordHeartbeat', nodeId, endpoint: dto.endpoint, rxBytes: dto.rxBytes, txBytes: dto.txBytes,
      peers: dto.peers?.map((p) => ({ publicKey: p.publicKey, lastHandshakeAt: p.lastHandshakeAt ?? null, rxBytes: p.rxBytes, txBytes: p.txBytes })),
    }, state, { now: new Date() });
    await this.store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: meta });
  }
}
