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
import { RenameNodeCommand } from './rename-node.command';

/**
 * Renames a node: one NodeRenamed, after which policies match it by its new name and every peer's DNS answers it.
 * Names are unique per tenant as at registration: the tenant lock is the fast path in this replica, the
 * node-identities unique index the guarantee across replicas (the same 409). The node's stream is also written by
 * heartbeats: their lock, and a lost race decided again.
 */
@CommandHandler(RenameNodeCommand)
export class RenameNodeHandler implements ICommandHandler<RenameNodeCommand, NodeView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ tenantId, nodeId, name, meta }: RenameNodeCommand): Promise<NodeView> {
    return this.locks.run(`tenant-nodes:${tenantId}`, () => this.locks.run(`node-heartbeat:${nodeId}`, () => decideAgainOnRace(this.views, async () => {
      const { state, version } = this.nodes.stateOf(nodeId, tenantId);
      const events = decideNode({ type: 'RenameNode', nodeId, name, tenant: this.nodes.tenantIndex(tenantId) }, state, { now: this.clock.now() });
      if (events.length) {
        await this.store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: meta });
      }
      return toNodeView(this.nodes.find(tenantId, nodeId)!);
    })));
  }
}
