import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideNode, streams } from '@meshgate/domain';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { NodesView } from '../../projections/nodes.view';
import { RemoveNodeCommand } from './remove-node.command';

@CommandHandler(RemoveNodeCommand)
export class RemoveNodeHandler implements ICommandHandler<RemoveNodeCommand, void> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly locks: KeyedMutex,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ tenantId, nodeId, meta }: RemoveNodeCommand): Promise<void> {
    await this.locks.run(`tenant-nodes:${tenantId}`, async () => {
      const { state, version } = this.nodes.stateOf(nodeId, tenantId);
      const events = decideNode({ type: 'RemoveNode', nodeId }, state, { now: this.clock.now() });
      await this.store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: meta });
    });
  }
}
