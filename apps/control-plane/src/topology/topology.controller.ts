import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { TOPOLOGY_DEFAULT_LIMIT, TopologyPage, TopologyQueryDto } from '@meshgate/contracts';
import { ALL_ROLES, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { GetTopologyQuery } from './queries/get-topology.query';
import { ApiAnswer } from '../openapi/api-answer.decorator';

@ApiTags('topology')
@Controller('api/v1/topology')
export class TopologyController {
  constructor(private readonly queries: QueryBus) {}

  /**
   * The mesh: nodes by name, a page at a time, with every WireGuard peering of the page's nodes — what each end may
   * reach, the routes it takes through the other, and what its heartbeats say of the link.
   */
  @Get()
  @Allow({ tenant: ALL_ROLES })
  @ApiAnswer(200, 'TopologyPage')
  get(@Query() q: TopologyQueryDto, @CurrentPrincipal() p: Principal): Promise<TopologyPage> {
    return this.queries.execute(new GetTopologyQuery(tenantOf(p), { node: q.node, tag: q.tag, after: q.cursor }, q.limit ?? TOPOLOGY_DEFAULT_LIMIT));
  }
}
