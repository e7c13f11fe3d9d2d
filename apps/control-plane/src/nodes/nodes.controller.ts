import {
  Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Put,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { ApproveRoutesDto, HeartbeatAccepted, HeartbeatDto, NodeConfig, NodeView, RegisteredNode, RegisterNodeDto, RenameNodeDto, RetagNodeDto } from '@meshgate/contracts';
import { ADMINS, ALL_ROLES, Allow, WRITERS } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { assertNodeAccess } from '../auth/node-access';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { CompiledBody } from '../common/compiled-body';
import { RequestMeta } from '../common/request-meta.decorator';
import { NODE_REF_PARAM, UUID_PARAM } from '../common/uuid-param';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { MetricsService } from '../metrics/metrics.service';
import { NodeConfigView } from '../projections/node-config.view';
import { NodesView, toNodeView } from '../projections/nodes.view';
import { ApproveRoutesCommand } from './commands/approve-routes.command';
import { RecordHeartbeatCommand } from './commands/record-heartbeat.command';
import { RegisterNodeCommand } from './commands/register-node.command';
import { RemoveNodeCommand } from './commands/remove-node.command';
import { RenameNodeCommand } from './commands/rename-node.command';
import { RetagNodeCommand } from './commands/retag-node.command';
import { ApiAnswer, ApiRefusals } from '../openapi/api-answer.decorator';

@ApiTags('nodes')
@Controller('api/v1/nodes')
export class NodesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly nodes: NodesView,
    private readonly configs: NodeConfigView,
    private readonly metrics: MetricsService,
  ) {}

  @Post()
  @Allow({ tenant: WRITERS, enrollment: true })
  @ApiAnswer(201, 'RegisteredNode', 'Registered: `nodeToken` is shown this once')
  @ApiRefusals({ 409: 'The name or public key is taken in the tenant (NAME_TAKEN, PUBLIC_KEY_TAKEN)' })
  register(@CompiledBody(RegisterNodeDto) dto: RegisterNodeDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<RegisteredNode> {
    return this.commands.execute(new RegisterNodeCommand(dto, p, meta));
  }

  @Get()
  @Allow({ tenant: ALL_ROLES })
  @ApiAnswer(200, ['NodeView'])
  list(@CurrentPrincipal() p: Principal): NodeView[] {
    return this.nodes.list(tenantOf(p)).map(toNodeView);
  }

  /** `:id` is the node's id or its name (unique in the tenant): `GET /api/v1/nodes/db-1`. */
  @Get(':id')
  @Allow({ tenant: ALL_ROLES })
  @ApiAnswer(200, 'NodeView')
  get(@Param('id', NODE_REF_PARAM) ref: string, @CurrentPrincipal() p: Principal): NodeView {
    return toNodeView(this.node(p, ref));
  }

  @Delete(':id')
  @HttpCode(204)
  @Allow({ tenant: ADMINS })
  @ApiAnswer(204, null, 'Removed')
  async remove(@Param('id', NODE_REF_PARAM) ref: string, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<void> {
    await this.commands.execute(new RemoveNodeCommand(tenantOf(p), this.idOf(p, ref), meta));
  }

  /** Approves advertised routes (the whole approved set). autoApprovers in the policy approve without this. */
  @Put(':id/routes')
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, 'NodeView')
  approveRoutes(
    @Param('id', NODE_REF_PARAM) ref: string, @Body() dto: ApproveRoutesDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<NodeView> {
    return this.commands.execute(new ApproveRoutesCommand(tenantOf(p), this.idOf(p, ref), dto.approved, meta));
  }

  /**
   * Replaces the node's tags (`tag:web`; a bare `web` is read as `tag:web`). Each tag the node does not carry yet
   * must be the caller's to put, per the policy's tagOwners: else 403 naming it, and nothing is recorded.
   */
  @Put(':id/tags')
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, 'NodeView')
  retag(
    @Param('id', NODE_REF_PARAM) ref: string, @Body() dto: RetagNodeDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<NodeView> {
    return this.commands.execute(new RetagNodeCommand(tenantOf(p), this.idOf(p, ref), dto.tags, p, meta));
  }

  /** Renames the node: policies match it by the new name, and the mesh's DNS answers it at once. */
  @Put(':id/name')
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, 'NodeView')
  @ApiRefusals({ 409: 'Another node of the tenant has the name (NODE_NAME_TAKEN)' })
  rename(
    @Param('id', NODE_REF_PARAM) ref: string, @Body() dto: RenameNodeDto, @RequestMeta() meta: CommandMeta, @CurrentPrincipal() p: Principal,
  ): Promise<NodeView> {
    return this.commands.execute(new RenameNodeCommand(tenantOf(p), this.idOf(p, ref), dto.name, meta));
  }

  @Get(':id/config')
  @Allow({ tenant: ALL_ROLES, node: true })
  @ApiAnswer(200, 'NodeConfig')
  config(@Param('id', NODE_REF_PARAM) ref: string, @CurrentPrincipal() p: Principal): NodeConfig {
    const id = this.idOf(p, ref);
    assertNodeAccess(p, id, this.nodes);
    const config = this.configs.configOf(id);
    if (!config) throw new NotFoundException('node not found');
    return config;
  }

  @Post(':id/heartbeat')
  @HttpCode(202)
  @Allow({ node: true })
  @RateLimit('heartbeats')
  @ApiAnswer(202, 'HeartbeatAccepted', 'Recorded')
  async heartbeat(
    @Param('id', UUID_PARAM) id: string, @CompiledBody(HeartbeatDto) dto: HeartbeatDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<HeartbeatAccepted> {
    assertNodeAccess(p, id, this.nodes);
    await this.commands.execute(new RecordHeartbeatCommand(tenantOf(p), id, dto, meta));
    this.metrics.heartbeats.inc();
    return { accepted: true };
  }

  /** The caller's tenant's live node named by id or name; 404 otherwise (another tenant's ids included). */
  private node(p: Principal, ref: string) {
    const node = this.nodes.resolve(tenantOf(p), ref);
    if (!node) throw new NotFoundException('node not found');
    return node;
  }

  /** The id `ref` names in the caller's tenant; an id no live node of the tenant has is passed on (the handler 404s). */
  private idOf(p: Principal, ref: string): string {
    return this.nodes.resolve(tenantOf(p), ref)?.id ?? ref;
  }

}
