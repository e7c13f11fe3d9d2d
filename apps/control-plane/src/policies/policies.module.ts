import { Module } from '@nestjs/common';
import { UpdatePolicyHandler } from './commands/update-policy.handler';
import { PoliciesController } from './policies.controller';
import { ScheduleService } from './schedule.service';
import { TestClockController } from './test-clock.controller';

export const policyHandlers = [UpdatePolicyHandler];

@Module({ controllers: [PoliciesController, TestClockController], providers: [...policyHandlers, ScheduleService] })
export class PoliciesModule {}
