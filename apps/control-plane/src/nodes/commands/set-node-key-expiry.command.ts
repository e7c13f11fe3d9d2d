import { CommandMeta } from '../../common/command-meta';

export class SetNodeKeyExpiryCommand {
  constructor(readonly tenantId: string, readonly nodeId: string, readonly disabled: boolean, readonly meta: CommandMeta) {}
}
