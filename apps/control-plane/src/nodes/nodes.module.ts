import { Module } from '@nestjs/common';
import { LiveStats } from './live-stats';
import { ApproveRoutesHandler } from './commands/approve-routes.handler';
import { RecordHeartbeatHandler } from './commands/record-heartbeat.handler';
import { RegisterNodeHandler } from './commands/register-node.handler';
import { RemoveNodeHandler } from './commands/remove-node.handler';
import { RenameNodeHandler } from './commands/rename-node.handler';
import { RetagNodeHandler } from './commands/retag-node.handler';
import { RotateNodeKeyHandler } from './commands/rotate-node-key.handler';
import { SetNodeKeyExpiryHandler } from './commands/set-node-key-expiry.handler';
import { NodeKeysController } from './node-keys.controller';
import { NodesController } from './nodes.controller';
import { OfflineSweeper } from './offline-sweeper';
import { RegistrationReservations } from './registration-reservations';

export const nodeHandlers = [RegisterNodeHandler, RecordHeartbeatHandler, RemoveNodeHandler, ApproveRoutesHandler, RetagNodeHandler, RenameNodeHandler,
  RotateNodeKeyHandler, SetNodeKeyExpiryHandler];

@Module({ controllers: [NodesController, NodeKeysController], providers: [...nodeHandlers, OfflineSweeper, LiveStats, RegistrationReservations], exports: [OfflineSweeper, LiveStats] })
export class NodesModule {}
