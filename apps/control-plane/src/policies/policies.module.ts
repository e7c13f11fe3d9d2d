import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { UpdatePolicyHandler } from './commands/update-policy.handler';
import { PoliciesController } from './policies.controller';
import { PolicyVersionsController } from './policy-versions.controller';
import { GetPolicyVersionsHandler } from './queries/get-policy-versions.handler';
import { ScheduleService } from './schedule.service';
import { TestClockController } from './test-clock.controller';

export const policyHandlers = [UpdatePolicyHandler, GetPolicyVersionsHandler];

@Module({})
export class PoliciesModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PoliciesModule,
      // The test clock's route exists only with the manual clock: otherwise every call is the router's plain 404.
      controllers: [PoliciesController, PolicyVersionsController, ...(config.schedulerClock === 'manual' ? [TestClockController] : [])],
      providers: [...policyHandlers, ScheduleService],
    };
  }
}
