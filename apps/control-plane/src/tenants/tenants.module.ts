import { Module } from '@nestjs/common';
import { AddMemberHandler } from './commands/add-member.handler';
import { TenantsController } from './tenants.controller';

export const tenantHandlers = [AddMemberHandler];

@Module({ controllers: [TenantsController], providers: [...tenantHandlers] })
export class TenantsModule {}
