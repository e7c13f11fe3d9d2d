import { Module } from '@nestjs/common';
import { UpdatePolicyHandler } from './commands/update-policy.handler';
import { PoliciesController } from './policies.controller';

export const policyHandlers = [UpdatePolicyHandler];

@Module({ controllers: [PoliciesController], providers: [...policyHandlers] })
export class PoliciesModule {}
