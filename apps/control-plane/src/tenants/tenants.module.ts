import { Module } from '@nestjs/common';
import { AddMemberHandler } from './commands/add-member.handler';
import { ChangeMemberRoleHandler } from './commands/change-member-role.handler';
import { RemoveMemberHandler } from './commands/remove-member.handler';
import { UpdateTenantSettingsHandler } from './commands/update-tenant-settings.handler';
import { TenantSettingsController } from './tenant-settings.controller';
import { TenantsController } from './tenants.controller';

export const tenantHandlers = [AddMemberHandler, ChangeMemberRoleHandler, RemoveMemberHandler, UpdateTenantSettingsHandler];

@Module({ controllers: [TenantsController, TenantSettingsController], providers: [...tenantHandlers] })
export class TenantsModule {}
