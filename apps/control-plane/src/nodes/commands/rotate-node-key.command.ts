import { CommandMeta } from '../../common/command-meta';

export class RotateNodeKeyCommand {
  constructor(readonly tenantId: string, readonly nodeId: string, readonly publicKey: string, readonly meta: CommandMeta) {}
}
