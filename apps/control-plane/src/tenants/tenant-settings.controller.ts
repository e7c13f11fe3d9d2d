import { Body, Controller, Get, Patch } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { TenantSettingsView, UpdateTenantSettingsDto } from '@meshgate/contracts';
import { ADMINS, ALL_ROLES, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { NodeConfigView } from '../projections/node-config.view';
import { NodesView } from '../projections/nodes.view';
import { UpdateTenantSettingsCommand } from './commands/update-tenant-settings.command';
import { ApiAnswer } from '../openapi/api-answer.decorator';

/** The tenant's settings: the node key expiry (days; default 180) and the mesh domain (default `<tenant-name>.mesh`). */
@ApiTags('tenants')
@Controller('api/v1/tenants/current')
export class TenantSettingsController {
  constructor(private readonly commands: CommandBus, private readonly nodes: NodesView, private readonly configs: NodeConfigView) {}

  @Patch()
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, 'TenantSettingsView')
  update(@Body() dto: UpdateTenantSettingsDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<TenantSettingsView> {
    if (p.kind !== 'user' || !p.role) throw new Error('guarded');
    return this.commands.execute(new UpdateTenantSettingsCommand(tenantOf(p), dto, p.role, meta));
  }

  @Get('settings')
  @Allow({ tenant: ALL_ROLES })
  @ApiAnswer(200, 'TenantSettingsView')
  settings(@CurrentPrincipal() p: Principal): TenantSettingsView {
    return { nodeKeyExpiryDays: this.nodes.keyExpiryDaysOf(tenantOf(p)), domain: this.configs.domainOf(tenantOf(p)) };
  }
}
