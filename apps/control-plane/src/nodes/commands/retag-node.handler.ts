import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideNode, streams } from '@meshgate/domain';
import type { NodeView } from '@meshgate/contracts';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { NodeConfigView } from '../../projections/node-config.view';
import { NodesView, toNodeView } from '../../projections/nodes.view';
import { decideAgainOnRace } from '../../projections/decide-again';
import { ViewFeeder } from '../../projections/view-feeder';
import { RetagNodeCommand } from './retag-node.command';

/**
 * Retags a node under tagOwners (each tag it does not carry yet must be the caller's to put): one NodeTagsChanged,
 * which moves the node between identity classes in every replica's topology and so reaches every affected config.
 */
@CommandHandler(RetagNodeCommand)
export class RetagNodeHandler implements ICommandHandler<RetagNodeCommand, NodeView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly configs: NodeConfigView,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ tenantId, nodeId, tags, principal, meta }: RetagNodeCommand): Promise<NodeView> {
    const userId = 'userId' in principal ? principal.userId : undefined;
    const role = 'role' in principal ? principal.role ?? undefined : undefined;
    // Same lock as heartbeats: both append to the node's stream, and an admin should not get a 409 from a heartbeat.
    // A heartbeat on another replica may move the stream on meanwhile: decide again on the new state.
    return this.locks.run(`node-heartbeat:${nodeId}`, () => decideAgainOnRace(this.views, async () => {
      const { state, version } = this.nodes.stateOf(nodeId, tenantId);
      const tagOwnership = this.configs.tagOwnershipOf(tenantId, { userId, role });
      const events = decideNode({ type: 'RetagNode', nodeId, tags, tagOwnership }, state, { now: this.clock.now() });
      if (events.length) {
        await this.store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: meta });
      }
      return toNodeView(this.nodes.find(tenantId, nodeId)!);
    }));
  }
}
