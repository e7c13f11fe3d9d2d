import { BadRequestException, Body, Controller, Get, Headers, HttpCode, HttpException, Post, Put, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkPolicy, DomainError, previewPolicy } from '@meshgate/domain';
import type { PolicyPreviewView, PolicyView } from '@meshgate/contracts';
import { ADMINS, ALL_ROLES, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { SecurityLog } from '../logging/security-log';
import { NodeConfigView } from '../projections/node-config.view';
import { UpdatePolicyCommand } from './commands/update-policy.command';
import { ApiAnswer, ApiPolicyDocument, ApiRefusals } from '../openapi/api-answer.decorator';

const HUJSON = 'application/hujson';

/** JSON arrives parsed and must be an object; HuJSON arrives as text, for the domain's reader. */
function policyBody(body: unknown, contentType: string | undefined): unknown {
  const isText = /^\s*(application\/hujson|text\/plain)\b/i.test(contentType ?? '');
  if (isText ? typeof body !== 'string' || body.trim() === '' : typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('the body must be a policy document: a JSON object, or HuJSON text with Content-Type application/hujson');
  }
  return body;
}

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
  constructor(private readonly commands: CommandBus, private readonly configs: NodeConfigView, private readonly security: SecurityLog) {}

  @Get()
  @Allow({ tenant: ALL_ROLES })
  @ApiAnswer(200, 'PolicyView')
  @ApiPolicyDocument('answer')
  get(
    @CurrentPrincipal() p: Principal,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): PolicyView | string {
    const { version, document, text } = this.configs.policyOf(tenantOf(p));
    void reply.header('ETag', `"${version}"`);
    // The HuJSON as written (comments and all) for those who ask for it; JSON otherwise.
    if (accept?.includes(HUJSON) && text !== undefined) {
      void reply.type(HUJSON);
      return text;
    }
    return { version, policy: document };
  }

  @Put()
  @Allow({ tenant: ADMINS })
  @ApiHeader({ name: 'If-Match', required: false, description: 'the version read; 412 if the policy changed since' })
  @ApiAnswer(200, 'PolicyView', 'Stored (or unchanged); ETag is the new version')
  @ApiPolicyDocument('body')
  @ApiRefusals({ 412: 'The policy changed since the If-Match version' })
  async put(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() p: Principal,
    @RequestMeta() meta: CommandMeta,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PolicyView> {
    let view: PolicyView;
    try {
      view = await this.commands.execute(new UpdatePolicyCommand(tenantOf(p), policyBody(body, contentType), parseIfMatch(ifMatch), meta));
    } catch (error) {
      // A refused change, by its code (a stale If-Match is PRECONDITION_FAILED); a storage fault is no refusal.
      if (error instanceof DomainError) this.security.record('policy.refused', request, { code: error.code });
      else if (error instanceof HttpException && error.getStatus() < 500) this.security.record('policy.refused', request, { code: 'BAD_REQUEST' });
      throw error;
    }
    void reply.header('ETag', `"${view.version}"`);
    return view;
  }

  /** What a candidate document would change against the current one: nothing is stored. */
  @Post('preview')
  @HttpCode(200)
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, 'PolicyPreviewView')
  @ApiPolicyDocument('body')
  preview(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @CurrentPrincipal() p: Principal): PolicyPreviewView {
    const tenantId = tenantOf(p);
    const current = this.configs.policyOf(tenantId);
    const nodes = this.configs.topologyNodesOf(tenantId);
    const candidate = checkPolicy(policyBody(body, contentType), this.configs.identitiesOf(tenantId), current.open, this.configs.usersOf(tenantId));
    const diff = previewPolicy(current.compiled, candidate.compiled, nodes, { open: current.open });
    const names = new Map(nodes.map((n) => [n.id, n.name]));
    return {
      baseVersion: current.version,
      warnings: candidate.warnings,
      gained: diff.gained,
      lost: diff.lost,
      changedNodes: diff.changedNodes.map((id) => ({ id, name: names.get(id) ?? id })),
      truncated: diff.truncated,
    };
  }
}
