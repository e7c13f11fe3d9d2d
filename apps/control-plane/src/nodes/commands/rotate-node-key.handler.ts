import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideNode, streams } from '@meshgate/domain';
import type { NodeKeyView } from '@meshgate/contracts';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { NodesView } from '../../projections/nodes.view';
import { decideAgainOnRace } from '../../projections/decide-again';
import { ViewFeeder } from '../../projections/view-feeder';
import { RotateNodeKeyCommand } from './rotate-node-key.command';

/**
 * A node replaces its WireGuard key. Keys are unique per tenant, as at registration: the tenant lock is the fast path
 * in this replica, the node-identities unique index the guarantee across replicas (its refusal is the same 409).
 * The node's stream is also written by heartbeats and the sweeper: a lost race is decided again on the new state.
 */
@CommandHandler(RotateNodeKeyCommand)
export class RotateNodeKeyHandler implements ICommandHandler<RotateNodeKeyCommand, NodeKeyView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute(command: RotateNodeKeyCommand): Promise<NodeKeyView> {
    return this.locks.run(`tenant-nodes:${command.tenantId}`, () => this.locks.run(`node-heartbeat:${command.nodeId}`, () => decideAgainOnRace(this.views, () => this.rotate(command))));
  }

  private async rotate({ tenantId, nodeId, publicKey, meta }: RotateNodeKeyCommand): Promise<NodeKeyView> {
    const { state, version } = this.nodes.stateOf(nodeId, tenantId);
    const events = decideNode({ type: 'RotateNodeKey', nodeId, publicKey, tenant: this.nodes.tenantIndex(tenantId) }, state, { now: this.clock.now() });
    if (events.length) {
      await this.store.append({ tenantId, streams: [{ streamId: streams.node(nodeId), expectedVersion: version, events }], metadata: meta });
    }
    const { keys } = this.nodes.find(tenantId, nodeId)!;
    return { publicKey, keyExpiresAt: keys.expiresAt, keyExpired: keys.expired };
  }
}
