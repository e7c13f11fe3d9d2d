import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import {
  AccessQueryDto, AccessView, NodeHistoryView, ReachabilityQueryDto, ReachabilityView, TimelineQueryDto, TimelineView,
} from '@meshgate/contracts';
import { Allow, AUDITORS } from '../../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../../auth/current-principal.decorator';
import { Principal } from '../../auth/principal';
import { NODE_REF_PARAM } from '../../common/uuid-param';
import { ApiAnswer } from '../../openapi/api-answer.decorator';
import { GetAccessQuery } from './queries/get-access.query';
import { GetNodeHistoryQuery } from './queries/get-node-history.query';
import { GetReachabilityQuery } from './queries/get-reachability.query';
import { GetTimelineQuery } from './queries/get-timeline.query';

/**
 * The audit time machine: who could reach what at a past instant, why, and since when — answered by folding the
 * tenant's reachability events up to that instant, never from today's read models. Every answer names the log
 * position it reflects.
 */
@ApiTags('audit')
@Controller('api/v1')
export class TimeMachineController {
  constructor(private readonly queries: QueryBus) {}

  @Get('audit/reachability')
  @Allow({ tenant: AUDITORS })
  @ApiAnswer(200, 'ReachabilityView', 'Allowed or not, the ACL entry (or the default deny) that decided it, and the events that made it so')
  reachability(@Query() q: ReachabilityQueryDto, @CurrentPrincipal() p: Principal): Promise<ReachabilityView> {
    return this.queries.execute(new GetReachabilityQuery(tenantOf(p), q));
  }

  @Get('audit/access')
  @Allow({ tenant: AUDITORS })
  @ApiAnswer(200, 'AccessView', 'The nodes, each with the protocols and ports')
  access(@Query() q: AccessQueryDto, @CurrentPrincipal() p: Principal): Promise<AccessView> {
    return this.queries.execute(new GetAccessQuery(tenantOf(p), q));
  }

  @Get('audit/timeline')
  @Allow({ tenant: AUDITORS })
  @ApiAnswer(200, 'TimelineView', 'The intervals in which src could reach dst and on what, each boundary with the event that caused it')
  timeline(@Query() q: TimelineQueryDto, @CurrentPrincipal() p: Principal): Promise<TimelineView> {
    return this.queries.execute(new GetTimelineQuery(tenantOf(p), q));
  }

  /** `:id` is the node's id or a name it had: removed nodes keep their history. */
  @Get('nodes/:id/history')
  @Allow({ tenant: AUDITORS })
  @ApiAnswer(200, 'NodeHistoryView', "The node's status, endpoint, key and tags over time, one entry per event that changed them")
  nodeHistory(@Param('id', NODE_REF_PARAM) ref: string, @CurrentPrincipal() p: Principal): Promise<NodeHistoryView> {
    return this.queries.execute(new GetNodeHistoryQuery(tenantOf(p), ref));
  }
}
