import { HeartbeatDto } from '@meshgate/contracts';
import { CommandMeta } from '../../common/command-meta';

export class RecordHeartbeatCommand {
  constructor(readonly tenantId: string, readonly nodeId: string, readonly dto: HeartbeatDto, readonly meta: CommandMeta) {}
}
