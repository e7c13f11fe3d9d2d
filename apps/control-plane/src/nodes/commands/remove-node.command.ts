import { CommandMeta } from '../../common/command-meta';

export class RemoveNodeCommand {
  constructor(readonly tenantId: string, readonly nodeId: string, readonly meta: CommandMeta) {}
}
