import { Controller, Get, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { PolicyVersionParamDto, PolicyVersionsView, PolicyVersionView } from '@meshgate/contracts';
import { Allow, AUDITORS } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { ApiAnswer } from '../openapi/api-answer.decorator';
import { GetPolicyVersionsQuery } from './queries/get-policy-versions.query';

@ApiTags('policies')
@Controller('api/v1/policies/versions')
export class PolicyVersionsController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @Allow({ tenant: AUDITORS })
  @ApiAnswer(200, 'PolicyVersionsView', 'Every version with its author, time, log position and the summary of its diff against the one before')
  list(@CurrentPrincipal() p: Principal): Promise<PolicyVersionsView> {
    return this.queries.execute(new GetPolicyVersionsQuery(tenantOf(p)));
  }

  @Get(':v')
  @Allow({ tenant: AUDITORS })
  @ApiAnswer(200, 'PolicyVersionView', 'The version as written, with a structural JSON diff and a line diff of its text against the version before')
  get(@Param() params: PolicyVersionParamDto, @CurrentPrincipal() p: Principal): Promise<PolicyVersionView> {
    return this.queries.execute(new GetPolicyVersionsQuery(tenantOf(p), Number(params.v)));
  }
}
