import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { nodeHistory, streams } from '@meshgate/domain';
import type { NodeHistoryView } from '@meshgate/contracts';
import { EVENT_STORE, EventStore } from '../../../event-store/event-store.port';
import { nodeAt } from '../history-nodes';
import { eventView } from '../history-views';
import { ReachabilityHistoryReadModel } from '../reachability-history.read-model';
import { GetNodeHistoryQuery } from './get-node-history.query';

const END_OF_TIME = new Date(8.64e15);

@QueryHandler(GetNodeHistoryQuery)
export class GetNodeHistoryHandler implements IQueryHandler<GetNodeHistoryQuery, NodeHistoryView> {
  constructor(
    private readonly history: ReachabilityHistoryReadModel,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  /** The node's own stream, folded: its registration, heartbeats that changed something, retags, key events, removal. */
  async execute({ tenantId, ref }: GetNodeHistoryQuery): Promise<NodeHistoryView> {
    // Any node the tenant ever had, by id or by a name it had (the live node of that name first).
    const node = nodeAt(await this.history.at(tenantId, END_OF_TIME), 'id', ref, END_OF_TIME);
    const head = await this.store.head();
    const events = (await this.store.readStream(streams.node(node.id))).filter((e) => e.position <= head.position);
    return {
      node: { id: node.id, name: node.name },
      position: head.position,
      entries: nodeHistory(events).map(({ event, ...state }) => ({ event: eventView(event), ...state })),
    };
  }
}
