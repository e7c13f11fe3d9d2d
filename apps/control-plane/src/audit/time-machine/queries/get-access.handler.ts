import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { accessList, DomainError } from '@meshgate/domain';
import type { AccessView } from '@meshgate/contracts';
import { nodeAt } from '../history-nodes';
import { asOf, nodeView, reachView } from '../history-views';
import { ReachabilityHistoryReadModel } from '../reachability-history.read-model';
import { GetAccessQuery } from './get-access.query';

@QueryHandler(GetAccessQuery)
export class GetAccessHandler implements IQueryHandler<GetAccessQuery, AccessView> {
  constructor(private readonly history: ReachabilityHistoryReadModel) {}

  async execute({ tenantId, params }: GetAccessQuery): Promise<AccessView> {
    if ((params.dst === undefined) === (params.src === undefined)) {
      throw new DomainError('ACCESS_QUERY_INVALID', 'INVALID', 'give exactly one of dst (who could reach it) and src (what it could reach)');
    }
    const at = this.history.instant('at', params.at);
    const history = await this.history.at(tenantId, at);
    const direction = params.dst !== undefined ? 'to' : 'from';
    const node = nodeAt(history, direction === 'to' ? 'dst' : 'src', (params.dst ?? params.src)!, at);
    return {
      asOf: asOf(history, at),
      node: nodeView(node),
      direction,
      policyVersion: history.policy.version,
      nodes: accessList(history, node, direction).map((a) => ({ node: nodeView(a.node), reach: reachView(a.reach) })),
    };
  }
}
