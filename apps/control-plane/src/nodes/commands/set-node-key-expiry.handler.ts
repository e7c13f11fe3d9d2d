import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideNode, streams } from '@meshgate/domain';
import type { NodeView } from '@meshgate/contracts';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { NodesView, toNodeView } from '../../projections/nodes.view';
import { decideAgainOnRace } from '../../projections/decide-again';
import { ViewFeeder } from '../../projections/view-feeder';
import { SetNodeKeyExpiryCommand } from './set-node-key-expiry.command';

/** An admin exempts a node from key expiry (an expired node comes back at once) or subjects it again. */
@CommandHandler(SetNodeKeyExpiryCommand)
export class SetNodeKeyExpiryHandler implements ICommandHandler<SetNodeKeyExpiryCommand, NodeView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute(command: SetNodeKeyExpiryCommand): Promise<NodeView> {
    // Same lock as heartbeats (both append to the node's stream); the sweeper may still race it: decide again.
    return this.locks.run(`node-heartbeat:${command.nodeId}`, () => decideAgainOnRace(this.views, () => this.set(command)));
  }

  private async set({ tenantId, nodeId, disabled, meta }: SetNodeKeyExpiryCommand): Promise<NodeView> {
    const { state, version } = this.nodes.stateOf(nodeId, tenantId);
    const events = decideNode({ type: 'SetNodeKeyExpiry', nodeId, disabled }, state, { now: this.clock.now() });
    if (events.length) {
      await this.store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: meta });
    }
    return toNodeView(this.nodes.find(tenantId, nodeId)!);
  }
}
