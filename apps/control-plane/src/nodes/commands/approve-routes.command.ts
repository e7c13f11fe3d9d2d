import { CommandMeta } from '../../common/command-meta';

export class ApproveRoutesCommand {
  constructor(readonly tenantId: string, readonly nodeId: string, readonly routes: string[], readonly meta: CommandMeta) {}
}
