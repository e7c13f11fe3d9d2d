import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideNode, streams } from '@meshgate/domain';
import type { NodeView } from '@meshgate/contracts';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { NodesView, toNodeView } from '../../projections/nodes.view';
import { ApproveRoutesCommand } from './approve-routes.command';

@CommandHandler(ApproveRoutesCommand)
export class ApproveRoutesHandler implements ICommandHandler<ApproveRoutesCommand, NodeView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly locks: KeyedMutex,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ tenantId, nodeId, routes, meta }: ApproveRoutesCommand): Promise<NodeView> {
    // Same lock as heartbeats: both append to the node's stream, and an admin should not get a 409 from a heartbeat.
    return this.locks.run(`node-heartbeat:${nodeId}`, async () => {
      const { state, version } = this.nodes.stateOf(nodeId, tenantId);
      const events = decideNode({ type: 'ApproveRoutes', nodeId, routes }, state, { now: this.clock.now() });
      if (events.length) {
        await this.store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: meta });
      }
      return toNodeView(this.nodes.find(tenantId, nodeId)!);
    });
  }
}
