import {
  Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Put,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { ApproveRoutesDto, HeartbeatDto, NodeConfig, NodeView, RegisteredNode, RegisterNodeDto } from '@meshgate/contracts';
import { ADMINS, ALL_ROLES, Allow, WRITERS } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { assertNodeAccess } from '../auth/node-access';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { UUID_PARAM } from '../common/uuid-param';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { MetricsService } from '../metrics/metrics.service';
import { NodeConfigView } from '../projections/node-config.view';
import { NodesView, toNodeView } from '../projections/nodes.view';
import { ApproveRoutesCommand } from './commands/approve-routes.command';
import { RecordHeartbeatCommand } from './commands/record-heartbeat.command';
import { RegisterNodeCommand } from './commands/register-node.command';
import { RemoveNodeCommand } from './commands/remove-node.command';

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
  register(@Body() dto: RegisterNodeDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<RegisteredNode> {
    return this.commands.execute(new RegisterNodeCommand(dto, p, meta));
  }

  @Get()
  @Allow({ tenant: ALL_ROLES })
  list(@CurrentPrincipal() p: Principal): NodeView[] {
    return this.nodes.list(tenantOf(p)).map(toNodeView);
  }

  @Get(':id')
  @Allow({ tenant: ALL_ROLES })
  get(@Param('id', UUID_PARAM) id: string, @CurrentPrincipal() p: Principal): NodeView {
    const node = this.nodes.find(tenantOf(p), id);
    if (!node) throw new NotFoundException('node not found');
    return toNodeView(node);
  }

  @Delete(':id')
  @HttpCode(204)
  @Allow({ tenant: ADMINS })
  async remove(@Param('id', UUID_PARAM) id: string, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<void> {
    await this.commands.execute(new RemoveNodeCommand(tenantOf(p), id, meta));
  }

  /** Approves advertised routes (the whole approved set). autoApprovers in the policy approve without this. */
  @Put(':id/routes')
  @Allow({ tenant: ADMINS })
  approveRoutes(
    @Param('id', UUID_PARAM) id: string, @Body() dto: ApproveRoutesDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<NodeView> {
    return this.commands.execute(new ApproveRoutesCommand(tenantOf(p), id, dto.approved, meta));
  }

  @Get(':id/config')
  @Allow({ tenant: ALL_ROLES, node: true })
  config(@Param('id', UUID_PARAM) id: string, @CurrentPrincipal() p: Principal): NodeConfig {
    assertNodeAccess(p, id, this.nodes);
    const config = this.configs.configOf(id);
    if (!config) throw new NotFoundException('node not found');
    return config;
  }

  @Post(':id/heartbeat')
  @HttpCode(202)
  @Allow({ node: true })
  @RateLimit('heartbeats')
  async heartbeat(
    @Param('id', UUID_PARAM) id: string, @Body() dto: HeartbeatDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<{ accepted: true }> {
    assertNodeAccess(p, id, this.nodes);
    await this.commands.execute(new RecordHeartbeatCommand(tenantOf(p), id, dto, meta));
    this.metrics.heartbeats.inc();
    return { accepted: true };
  }
}
