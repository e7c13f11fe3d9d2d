import type { Principal } from '../../auth/principal';
import { CommandMeta } from '../../common/command-meta';

/** PUT /api/v1/nodes/:id/tags: the node's whole tag set, by an owner or admin (`principal`). */
export class RetagNodeCommand {
  constructor(
    readonly tenantId: string, readonly nodeId: string, readonly tags: string[], readonly principal: Principal, readonly meta: CommandMeta,
  ) {}
}
