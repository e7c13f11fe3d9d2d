import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { TopologyPage } from '@meshgate/contracts';
import { TopologyReadModel } from '../topology.read-model';
import { GetTopologyQuery } from './get-topology.query';

@QueryHandler(GetTopologyQuery)
export class GetTopologyHandler implements IQueryHandler<GetTopologyQuery, TopologyPage> {
  constructor(private readonly topology: TopologyReadModel) {}

  async execute({ tenantId, filter, limit }: GetTopologyQuery): Promise<TopologyPage> {
    return this.topology.page(tenantId, filter, limit);
  }
}
