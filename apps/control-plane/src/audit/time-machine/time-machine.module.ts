import { Module } from '@nestjs/common';
import { GetAccessHandler } from './queries/get-access.handler';
import { GetNodeHistoryHandler } from './queries/get-node-history.handler';
import { GetReachabilityHandler } from './queries/get-reachability.handler';
import { GetTimelineHandler } from './queries/get-timeline.handler';
import { ReachabilityHistoryReadModel } from './reachability-history.read-model';
import { TimeMachineController } from './time-machine.controller';

export const timeMachineHandlers = [GetReachabilityHandler, GetAccessHandler, GetTimelineHandler, GetNodeHistoryHandler];

@Module({
  controllers: [TimeMachineController],
  providers: [ReachabilityHistoryReadModel, ...timeMachineHandlers],
  exports: [ReachabilityHistoryReadModel],
})
export class TimeMachineModule {}
