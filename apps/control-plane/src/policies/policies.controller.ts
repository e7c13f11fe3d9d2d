import { BadRequestException, Body, Controller, Get, Headers, Put, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { PolicyView } from '@meshgate/contracts';
import { ADMINS, ALL_ROLES, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { ConfigProjection } from '../projections/config.projection';
import { UpdatePolicyCommand } from './commands/update-policy.command';

/** `If-Match: 3` or `If-Match: "3"` (an ETag as we send it). */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*"?([0-9]{1,15})"?\s*$/.exec(header);
  if (!match) throw new BadRequestException('If-Match must be a policy version, e.g. If-Match: "3"');
  return Number(match[1]);
}

@ApiTags('policies')
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(private readonly commands: CommandBus, private readonly configs: ConfigProjection) {}

  @Get()
  @Allow({ tenant: ALL_ROLES })
  get(@CurrentPrincipal() p: Principal, @Res({ passthrough: true }) reply: FastifyReply): PolicyView {
    const { version, document } = this.configs.policyOf(tenantOf(p));
    void reply.header('ETag', `"${version}"`);
    return { version, policy: document };
  }

  @Put()
  @Allow({ tenant: ADMINS })
  @ApiHeader({ name: 'If-Match', required: false, description: 'the version read; 412 if the policy changed since' })
  @ApiBody({ schema: { type: 'object', example: { acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db'] }] } } })
  async put(
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() p: Principal,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PolicyView> {
    const view: PolicyView = await this.commands.execute(new UpdatePolicyCommand(tenantOf(p), body, parseIfMatch(ifMatch), meta));
    void reply.header('ETag', `"${view.version}"`);
    return view;
  }
}
