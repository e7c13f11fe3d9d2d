import type { Role } from '@meshgate/domain';
import { CommandMeta } from '../../common/command-meta';

export class ChangeMemberRoleCommand {
  constructor(
    readonly tenantId: string, readonly userId: string, readonly role: Role, readonly actorRole: Role, readonly meta: CommandMeta,
  ) {}
}
