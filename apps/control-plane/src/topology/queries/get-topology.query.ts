import { TopologyFilter } from '../topology.read-model';

export class GetTopologyQuery {
  constructor(readonly tenantId: string, readonly filter: TopologyFilter, readonly limit: number) {}
}
