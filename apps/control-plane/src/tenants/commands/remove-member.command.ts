import type { Role } from '@meshgate/domain';
import { CommandMeta } from '../../common/command-meta';

export class RemoveMemberCommand {
  constructor(readonly tenantId: string, readonly userId: string, readonly actorRole: Role, readonly meta: CommandMeta) {}
}
