import { Module } from '@nestjs/common';
import { LiveStats } from './live-stats';
import { ApproveRoutesHandler } from './commands/approve-routes.handler';
import { RecordHeartbeatHandler } from './commands/record-heartbeat.handler';
import { RegisterNodeHandler } from './commands/register-node.handler';
import { RemoveNodeHandler } from './commands/remove-node.handler';
import { NodesController } from './nodes.controller';
import { OfflineSweeper } from './offline-sweeper';

export const nodeHandlers = [RegisterNodeHandler, RecordHeartbeatHandler, RemoveNodeHandler, ApproveRoutesHandler];

@Module({ controllers: [NodesController], providers: [...nodeHandlers, OfflineSweeper, LiveStats], exports: [OfflineSweeper] })
export class NodesModule {}
