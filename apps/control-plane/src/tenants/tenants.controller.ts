import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { AddMemberDto, ChangeMemberRoleDto, InvitationView, MemberView } from '@meshgate/contracts';
import { ADMINS, ALL_ROLES, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { DirectoryReadModel } from '../auth/directory.read-model';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { UUID_PARAM } from '../common/uuid-param';
import { AddMemberCommand } from './commands/add-member.command';
import { ChangeMemberRoleCommand } from './commands/change-member-role.command';
import { RemoveMemberCommand } from './commands/remove-member.command';
import { ApiAnswer, ApiRefusals } from '../openapi/api-answer.decorator';

@ApiTags('tenants')
@Controller('api/v1/tenants/current')
export class TenantsController {
  constructor(private readonly commands: CommandBus, private readonly directory: DirectoryReadModel) {}

  /** 202 either way: a registered user is a member at once, an unregistered email on registering. */
  @Post('members')
  @HttpCode(202)
  @Allow({ tenant: ADMINS })
  @ApiAnswer(202, 'InvitationView', 'A member now, or invited (the same answer either way)')
  addMember(@Body() dto: AddMemberDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<InvitationView> {
    if (p.kind !== 'user' || !p.role) throw new Error('guarded');
    return this.commands.execute(new AddMemberCommand(tenantOf(p), dto.email, dto.role, p.role, meta));
  }

  @Get('members')
  @Allow({ tenant: ALL_ROLES })
  @ApiAnswer(200, ['MemberView'])
  members(@CurrentPrincipal() p: Principal): Promise<MemberView[]> {
    return this.directory.members(tenantOf(p));
  }

  /** Owner-only for the owner role (granting it or taking it away); the last owner cannot be demoted (409). */
  @Patch('members/:userId')
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, 'MemberView')
  @ApiRefusals({ 409: 'The last owner cannot be demoted (LAST_OWNER)' })
  changeRole(
    @Param('userId', UUID_PARAM) userId: string, @Body() dto: ChangeMemberRoleDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<MemberView> {
    if (p.kind !== 'user' || !p.role) throw new Error('guarded');
    return this.commands.execute(new ChangeMemberRoleCommand(tenantOf(p), userId, dto.role, p.role, meta));
  }

  @Delete('members/:userId')
  @HttpCode(204)
  @Allow({ tenant: ADMINS })
  @ApiAnswer(204, null, 'Removed')
  @ApiRefusals({ 409: 'The last owner cannot be removed (LAST_OWNER)' })
  async removeMember(@Param('userId', UUID_PARAM) userId: string, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<void> {
    if (p.kind !== 'user' || !p.role) throw new Error('guarded');
    await this.commands.execute(new RemoveMemberCommand(tenantOf(p), userId, p.role, meta));
  }
}
