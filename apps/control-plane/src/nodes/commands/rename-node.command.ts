import { CommandMeta } from '../../common/command-meta';

/** PUT /api/v1/nodes/:id/name: the node's new name, by an owner or admin. */
export class RenameNodeCommand {
  constructor(readonly tenantId: string, readonly nodeId: string, readonly name: string, readonly meta: CommandMeta) {}
}
