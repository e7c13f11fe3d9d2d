import { Body, Controller, Get, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { AddMemberDto, MemberView } from '@meshgate/contracts';
import { ADMINS, ALL_ROLES, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { DirectoryReadModel } from '../auth/directory.read-model';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { AddMemberCommand } from './commands/add-member.command';

@ApiTags('tenants')
@Controller('api/v1/tenants/current')
export class TenantsController {
  constructor(private readonly commands: CommandBus, private readonly directory: DirectoryReadModel) {}

  @Post('members')
  @Allow({ tenant: ADMINS })
  addMember(@Body() dto: AddMemberDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<MemberView> {
    if (p.kind !== 'user' || !p.role) throw new Error('guarded');
    return this.commands.execute(new AddMemberCommand(tenantOf(p), dto.email, dto.role, p.role, meta));
  }

  @Get('members')
  @Allow({ tenant: ALL_ROLES })
  members(@CurrentPrincipal() p: Principal): MemberView[] {
    return this.directory.members(tenantOf(p));
  }
}
