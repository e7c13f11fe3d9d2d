import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { explainReachability, policyEngine } from '@meshgate/domain';
import type { ReachabilityView } from '@meshgate/contracts';
import { nodeAt, targetAt, trafficOf } from '../history-nodes';
import { asOf, decisionView, eventView, nodeView, reachView } from '../history-views';
import { ReachabilityHistoryReadModel } from '../reachability-history.read-model';
import { GetReachabilityQuery } from './get-reachability.query';

@QueryHandler(GetReachabilityQuery)
export class GetReachabilityHandler implements IQueryHandler<GetReachabilityQuery, ReachabilityView> {
  constructor(private readonly history: ReachabilityHistoryReadModel) {}

  async execute({ tenantId, params }: GetReachabilityQuery): Promise<ReachabilityView> {
    const at = this.history.instant('at', params.at);
    const traffic = trafficOf(params.proto, params.port);
    const history = await this.history.at(tenantId, at);
    const src = nodeAt(history, 'src', params.src, at);
    const target = targetAt(history, params.dst, at);
    const answer = explainReachability(history, src, target, traffic);
    return {
      asOf: asOf(history, at),
      src: nodeView(src),
      dst: 'node' in target ? { node: nodeView(target.node), address: target.node.address } : { node: null, address: target.prefix },
      proto: traffic.proto !== undefined ? policyEngine.protoName(traffic.proto) : traffic.port !== undefined ? 'tcp' : null,
      port: traffic.port ?? null,
      allowed: answer.allowed,
      reach: reachView(answer.reach),
      decision: decisionView(answer.decision, history),
      ...(answer.route ? { route: { prefix: answer.route.prefix, via: nodeView(answer.route.via), approvedBy: answer.route.approvedBy && eventView(answer.route.approvedBy) } } : {}),
      events: answer.events.map(eventView),
    };
  }
}
