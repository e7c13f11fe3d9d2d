import { Module } from '@nestjs/common';
import { AddMemberHandler } from './commands/add-member.handler';
import { RemoveMemberHandler } from './commands/remove-member.handler';
import { TenantsController } from './tenants.controller';

export const tenantHandlers = [AddMemberHandler, RemoveMemberHandler];

@Module({ controllers: [TenantsController], providers: [...tenantHandlers] })
export class TenantsModule {}
